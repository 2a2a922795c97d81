/**
 * Load generators, used by the bench process and by the floor process alike: a closed loop
 * (C requests in flight, the next one leaves when one is accepted: saturation) and an open loop
 * (one request every 1/R s whatever happens to the earlier ones: a steady offered rate).
 */
import { delay, epochMs } from './clock';
import { runPool } from './stats';

/** One delivery handed over: when its request left and when it was accepted, epoch ms. */
export interface Sample {
  id: string;
  sentAt: number;
  acceptedAt: number;
}

export type LoadPlan =
  | { kind: 'closed'; count: number; concurrency: number }
  | { kind: 'open'; count: number; ratePerS: number };

export interface LoadOutcome {
  samples: Sample[];
  /** Open loop: how much later than scheduled the latest request left, ms (0 for a closed loop). */
  maxLagMs: number;
}

/** Hands over one delivery (index counts from 0 over the whole run); resolves with its receiver-side id. */
export type Send = (index: number) => Promise<string>;

/** Runs `plan` through `send`, numbering deliveries from `firstIndex`. */
export async function generateLoad(plan: LoadPlan, send: Send, firstIndex = 0): Promise<LoadOutcome> {
  if (plan.kind === 'closed') {
    const samples = await runPool(plan.count, plan.concurrency, async (i) => {
      const sentAt = epochMs();
      const id = await send(firstIndex + i);
      return { id, sentAt, acceptedAt: epochMs() };
    });
    return { samples, maxLagMs: 0 };
  }
  const interval = 1000 / plan.ratePerS;
  const started = epochMs();
  const pending: Array<Promise<Sample>> = [];
  let failed = false;
  let maxLagMs = 0;
  for (let i = 0; i < plan.count && !failed; i++) {
    const due = started + i * interval;
    const wait = due - epochMs();
    if (wait > 1) await delay(wait);
    const sentAt = epochMs();
    maxLagMs = Math.max(maxLagMs, sentAt - due);
    const sample = send(firstIndex + i).then((id) => ({ id, sentAt, acceptedAt: epochMs() }));
    // Handled here so an early failure is not an unhandled rejection while later sends wait;
    // Promise.all below still rejects with it.
    sample.catch(() => {
      failed = true;
    });
    pending.push(sample);
  }
  return { samples: await Promise.all(pending), maxLagMs };
}
