/** Messages between the bench and its floor process (Node IPC). */
import type { LoadPlan, Sample } from './load';

/** One delivery the floor process is to start: its id (the receiver's key) and its body. */
export interface FloorItem {
  id: string;
  body: string;
}

export type ToFloor =
  /**
   * Start one floor workflow per item, as `plan` says; answer `loaded`. `shown`: start each as the
   * service starts a delivery, with its search attributes and its display (the visibility run).
   */
  | { type: 'load'; tag: number; plan: LoadPlan; url: string; workflowIdPrefix: string; items: FloorItem[]; shown?: boolean }
  /** Answer `posted`: how many POSTs succeeded so far. */
  | { type: 'posted'; tag: number };

export type FromFloor =
  | { type: 'ready' }
  /** Every start accepted: the samples (epoch ms) and how many workflows started eagerly. */
  | { type: 'loaded'; tag: number; samples: Sample[]; maxLagMs: number; eager: number }
  | { type: 'posted'; tag: number; posted: number }
  | { type: 'failed'; tag: number; message: string };
