import { recordAudit } from '../../src/db/audit-repo';
import { recordTelemetry } from '../../src/db/telemetry-repo';
import type { ActivityDeps } from '../deps';
import { emitOperationalEvent } from '../operational-events';
import { keyEventsWanted } from './key-events';
import type { RecordKeyRotationIn, RecordKeyRotationOut } from './types';

/**
 * Emits the `key_rotation` telemetry event (a structured log line, a telemetry row, an audit
 * row) and the `key.rotated` operational event; tells the workflow when to send `key.expiring`.
 */
export function makeRecordKeyRotation(deps: ActivityDeps) {
  const { db, log, config } = deps;
  return async function recordKeyRotation(input: RecordKeyRotationIn): Promise<RecordKeyRotationOut> {
    const details = {
      scope_type: input.scope.type,
      scope_id: input.scope.id,
      trigger: input.trigger,
      workflow_id: input.workflowId,
      new_key_id: input.newKeyId,
      old_key_ids: input.oldKeyIds,
      grace_seconds: input.graceSeconds,
      grace_expires_at: input.graceExpiresAt,
    };
    await db.transaction(async (trx) => {
      await recordTelemetry(trx, { tenantId: input.tenantId, kind: 'key_rotation', source: 'keyRotationWorkflow', details });
      await recordAudit(trx, {
        tenantId: input.tenantId,
        actor: input.actor,
        action: 'KeyRotated',
        resourceType: 'key',
        resourceId: input.newKeyId,
        traceId: input.workflowId,
        details,
      });
    });
    log.info({ telemetry: 'key_rotation', tenantId: input.tenantId, ...details }, 'key_rotation');
    if (await keyEventsWanted(db, input.tenantId, input.scope)) {
      await emitOperationalEvent(deps, {
        tenantId: input.tenantId,
        type: 'key.rotated',
        key: `key_rotated:${input.newKeyId}`,
        data: {
          scope_type: input.scope.type,
          scope_id: input.scope.id,
          new_key_id: input.newKeyId,
          old_key_ids: input.oldKeyIds,
          trigger: input.trigger,
          grace_expires_at: input.oldKeyIds.length > 0 ? input.graceExpiresAt : null,
        },
      });
    }
    return { expiringNoticeMs: config.KEY_EXPIRING_NOTICE_SECONDS * 1000 };
  };
}
