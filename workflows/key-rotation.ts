import { patched, proxyActivities, setHandler, sleep, uuid4, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { KeyRotationIn } from '../src/temporal/key-rotations';
import { keyRotationStatusQuery, type KeyRotationOut, type KeyRotationPhase } from './key-rotation-definitions';

type Activities = ReturnType<typeof createActivities>;

const { generateKey, activateKey, recordKeyRotation, retireKeys, noticeKeysExpiring } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** A key id in the service's `key_` + 26 lowercase characters form, from the workflow's seeded uuid. */
function newKeyId(): string {
  return `key_${uuid4().replace(/-/g, '').slice(0, 26)}`;
}

/** Rotations started before `key.expiring` wait out the grace period in one timer. */
const KEY_EXPIRING_NOTICE = 'key-expiring-notice';

/**
 * Rotates a scope's signing key: generate → activate (the old key enters its grace period) →
 * emit `key_rotation` (and `key.rotated`) → durable timer until the notice before the grace
 * expiry → `key.expiring` → timer until the expiry → retire the old key. Only key ids
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
  const recorded = await recordKeyRotation({
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
  const expiresAt = Date.parse(graceExpiresAt);
  const wait = expiresAt - Date.now();
  if (oldKeyIds.length > 0 && wait > 0) {
    if (patched(KEY_EXPIRING_NOTICE)) {
      const untilNotice = wait - (recorded?.expiringNoticeMs ?? 0);
      if (untilNotice > 0) await sleep(untilNotice);
      await noticeKeysExpiring({ tenantId: input.tenantId, scope: input.scope, keyIds: oldKeyIds, expiresAt: graceExpiresAt });
      const rest = expiresAt - Date.now();
      if (rest > 0) await sleep(rest);
    } else {
      await sleep(wait);
    }
  }
  phase = 'retiring';
  await retireKeys({ tenantId: input.tenantId, scope: input.scope, keyIds: oldKeyIds });
  phase = 'completed';
  return { status: 'completed', reason: null, newKeyId: keyId, oldKeyIds, graceExpiresAt };
}
