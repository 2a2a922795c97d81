import { proxyActivities, setHandler, sleep, uuid4, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { KeyRotationIn } from '../src/temporal/key-rotations';
import { keyRotationStatusQuery, type KeyRotationOut, type KeyRotationPhase } from './key-rotation-definitions';

type Activities = ReturnType<typeof createActivities>;

const { generateKey, activateKey, recordKeyRotation, retireKeys } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** A key id in the service's `key_` + 26 lowercase characters form, from the workflow's seeded uuid. */
function newKeyId(): string {
  return `key_${uuid4().replace(/-/g, '').slice(0, 26)}`;
}

/**
 * Rotates a scope's signing key: generate → activate (the old key enters its grace period) →
 * emit `key_rotation` → durable timer until the grace expiry → retire the old key. Only key ids
 * pass through here; the material is generated and stored inside `generateKey`.
 */
export async function keyRotationWorkflow(input: KeyRotationIn): Promise<KeyRotationOut> {
  const keyId = input.newKeyId ?? newKeyId();
  let phase: KeyRotationPhase = 'generating';
  let oldKeyIds: string[] = [];
  let graceExpiresAt: string | null = null;
  setHandler(keyRotationStatusQuery, () => ({ phase, newKeyId: keyId, oldKeyIds, graceExpiresAt }));

  await generateKey({ tenantId: input.tenantId, scope: input.scope, keyId });
  phase = 'activating';
  const activated = await activateKey({
    tenantId: input.tenantId,
    scope: input.scope,
    keyId,
    graceSeconds: input.graceSeconds,
    expectedActiveKeyId: input.expectedActiveKeyId,
  });
  if (activated.status === 'skipped') {
    phase = 'skipped';
    return { status: 'skipped', reason: activated.reason, newKeyId: keyId, oldKeyIds, graceExpiresAt };
  }
  oldKeyIds = activated.oldKeyIds;
  graceExpiresAt = activated.expiresAt;
  await recordKeyRotation({
    tenantId: input.tenantId,
    scope: input.scope,
    trigger: input.trigger,
    actor: input.actor,
    workflowId: workflowInfo().workflowId,
    newKeyId: keyId,
    oldKeyIds,
    graceSeconds: input.graceSeconds,
    graceExpiresAt,
  });

  phase = 'grace';
  const wait = Date.parse(graceExpiresAt) - Date.now();
  if (oldKeyIds.length > 0 && wait > 0) await sleep(wait);
  phase = 'retiring';
  await retireKeys({ tenantId: input.tenantId, scope: input.scope, keyIds: oldKeyIds });
  phase = 'completed';
  return { status: 'completed', reason: null, newKeyId: keyId, oldKeyIds, graceExpiresAt };
}
