import { recordAudit } from '../../src/db/audit-repo';
import { recordTelemetry } from '../../src/db/telemetry-repo';
import type { ActivityDeps } from '../deps';
import type { RecordKeyRotationIn } from './types';

/** Emits the `key_rotation` telemetry event: a structured log line, a telemetry row, an audit row. */
export function makeRecordKeyRotation({ db, log }: ActivityDeps) {
  return async function recordKeyRotation(input: RecordKeyRotationIn): Promise<void> {
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
  };
}
