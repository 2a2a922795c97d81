import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Caller } from '../domain/caller';
import { DEFAULT_GRACE_SECONDS, type KeyScope } from '../domain/keys';
import { auditedBy, recordAudit, type AuditAction } from '../db/audit-repo';
import { getEndpoint, keyringKind } from '../db/endpoints-repo';
import { getSource } from '../db/inbound-repo';
import { deleteKeyPolicy, getKeyPolicy, setKeyPolicyEnabled, upsertKeyPolicy } from '../db/key-policies-repo';
import {
  exportValidKeys,
  hasActiveKey,
  insertActiveKey,
  listKeys,
  rotationInProgress,
  type KeyListFilter,
  type KeyMetadata,
} from '../db/signing-keys-repo';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../errors';
import { newId } from '../ids';
import { generateSecretOf, secretProblem } from '../security/signing';
import { keyRotationWorkflowId, startKeyRotation, type KeyRotationIn } from '../temporal/key-rotations';
import { describeKeySchedule, stopKeySchedule, upsertKeySchedule, type KeyScheduleView } from '../temporal/schedules';
import type { AppDeps } from './deps';

/** Public view of a key: metadata only, never its material. */
export function keyOut(key: KeyMetadata) {
  return {
    id: key.id,
    scope: { type: key.scope_type, id: key.scope_id },
    state: key.state,
    usage_count: key.usage_count,
    created_at: key.created_at,
    expires_at: key.expires_at,
    retired_at: key.retired_at,
  };
}

const audit = (caller: Caller, action: AuditAction, resourceId: string | null, details: Record<string, unknown>) => ({
  ...auditedBy(caller),
  action,
  resourceType: 'key',
  resourceId,
  details,
});

const scopeDetails = (scope: KeyScope) => ({ scope_type: scope.type, scope_id: scope.id });

/** A scope must be a live endpoint or source of the caller's tenant (another tenant's is a 404). */
async function checkScope({ db }: Pick<AppDeps, 'db'>, tenantId: string, scope: KeyScope): Promise<void> {
  if (scope.type === 'endpoint') await getEndpoint(db, tenantId, scope.id);
  else await getSource(db, tenantId, scope.id);
}

/** A keyring with no active key is not found (sources exist once their first key is created). */
async function requireKeyring(deps: Pick<AppDeps, 'db'>, tenantId: string, scope: KeyScope): Promise<void> {
  await checkScope(deps, tenantId, scope);
  if (!(await hasActiveKey(deps.db, tenantId, scope))) throw new NotFoundError('keyring', `${scope.type}:${scope.id}`);
}

/**
 * Creates the first key of a scope (an inbound source, or an endpoint whose keys were all
 * retired). The secret is returned here and only here. A scope with an active key answers 409:
 * replace a key with a rotation, which keeps the old one valid during a grace period.
 */
export async function createKey(
  { db, box }: Pick<AppDeps, 'db' | 'box'>,
  caller: Caller,
  input: { scope: KeyScope; secret?: string },
): Promise<{ key: ReturnType<typeof keyOut>; secret: string }> {
  await checkScope({ db }, caller.tenantId, input.scope);
  const kind = await keyringKind(db, caller.tenantId, input.scope);
  const problem = input.secret === undefined ? null : secretProblem(input.secret, kind);
  if (problem) throw new ValidationError(`invalid body: secret: ${problem}`, [{ path: 'body.secret', message: problem }]);
  const secret = input.secret ?? generateSecretOf(kind);
  return db.transaction(async (trx) => {
    // Serializes concurrent creates of one scope.
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`${caller.tenantId}:${input.scope.type}:${input.scope.id}`]);
    if (await hasActiveKey(trx, caller.tenantId, input.scope)) {
      throw new ConflictError(`${input.scope.type} ${input.scope.id} already has an active key: rotate it instead`);
    }
    const id = await insertActiveKey(trx, box, caller.tenantId, input.scope, newId('key'), secret);
    await recordAudit(trx, audit(caller, 'KeyCreated', id, scopeDetails(input.scope)));
    const { items } = await listKeys(trx, caller.tenantId, { scope: input.scope, state: 'active', limit: 1, offset: 0 });
    return { key: keyOut(items[0]!), secret };
  });
}

export interface RotationStarted {
  workflow_id: string;
  run_id: string;
  scope: KeyScope;
  new_key_id: string;
  grace_seconds: number;
}

/**
 * Starts the scope's KeyRotationWorkflow. One rotation per scope at a time: while one runs (its
 * grace period included) another request answers 409 `rotation_in_progress`. The response names
 * the new key; its secret is read with an export.
 */
export async function startRotation(
  deps: Pick<AppDeps, 'db' | 'temporal' | 'config'>,
  caller: Caller,
  input: { scope: KeyScope; grace_seconds?: number },
): Promise<RotationStarted> {
  const { scope } = input;
  await requireKeyring(deps, caller.tenantId, scope);
  const inProgress = () => new AppError(409, 'rotation_in_progress', `a rotation of ${scope.type} ${scope.id} is in progress (grace period included)`);
  if (await rotationInProgress(deps.db, caller.tenantId, scope)) throw inProgress();
  const args: KeyRotationIn = {
    tenantId: caller.tenantId,
    scope,
    graceSeconds: input.grace_seconds ?? DEFAULT_GRACE_SECONDS,
    trigger: 'manual',
    actor: caller.actor,
    newKeyId: newId('key'),
  };
  const workflowId = keyRotationWorkflowId(caller.tenantId, scope);
  let handle;
  try {
    handle = await startKeyRotation(deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, args, 'exclusive');
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw inProgress();
    throw err;
  }
  const details = { ...scopeDetails(scope), workflow_id: workflowId, new_key_id: args.newKeyId, grace_seconds: args.graceSeconds };
  await recordAudit(deps.db, audit(caller, 'KeyRotationStarted', args.newKeyId!, details));
  return { workflow_id: workflowId, run_id: handle.firstExecutionRunId, scope, new_key_id: args.newKeyId!, grace_seconds: args.graceSeconds };
}

/** Rotates an endpoint's secret from the endpoint resource (a rotation, also audited as WebhookSecretRotated). */
export async function rotateEndpointSecret(
  deps: Pick<AppDeps, 'db' | 'temporal' | 'config'>,
  caller: Caller,
  endpointId: string,
  graceSeconds?: number,
): Promise<RotationStarted> {
  const started = await startRotation(deps, caller, { scope: { type: 'endpoint', id: endpointId }, grace_seconds: graceSeconds });
  await recordAudit(deps.db, {
    ...audit(caller, 'WebhookSecretRotated', endpointId, { workflow_id: started.workflow_id, new_key_id: started.new_key_id }),
    resourceType: 'endpoint',
  });
  return started;
}

/** Metadata of the caller's keys. An endpoint scope of another tenant is a 404. */
export async function listKeyMetadata(deps: Pick<AppDeps, 'db'>, caller: Caller, filter: KeyListFilter) {
  if (filter.scope) await checkScope(deps, caller.tenantId, filter.scope);
  const { items, total } = await listKeys(deps.db, caller.tenantId, filter);
  return { items: items.map(keyOut), total, limit: filter.limit, offset: filter.offset };
}

/** The confirmation an export needs, spelled out by the caller. */
export const exportConfirmation = (scope: KeyScope) => `export ${scope.id}`;

/**
 * Returns the scope's valid keys with their secrets (needs `keys:export` and the confirmation
 * `export <scope id>`). Every export is audited, with the key ids (never the material).
 */
export async function exportKeys(deps: Pick<AppDeps, 'db' | 'box'>, caller: Caller, input: { scope: KeyScope; confirm: string }) {
  if (input.confirm !== exportConfirmation(input.scope)) {
    throw new ValidationError(`confirm must be exactly "${exportConfirmation(input.scope)}"`, [
      { path: 'body.confirm', message: `must be "${exportConfirmation(input.scope)}"` },
    ]);
  }
  await requireKeyring(deps, caller.tenantId, input.scope);
  const keys = await exportValidKeys(deps.db, deps.box, caller.tenantId, input.scope);
  await recordAudit(deps.db, audit(caller, 'KeyExported', null, { ...scopeDetails(input.scope), key_ids: keys.map((k) => k.id) }));
  return { scope: input.scope, keys: keys.map((k) => ({ ...keyOut(k), secret: k.secret })) };
}

export interface AutoRotationIn {
  scope: KeyScope;
  /** Seconds between scheduled rotations; absent: no schedule (usage threshold only). */
  interval_seconds?: number;
  grace_seconds?: number;
  usage_threshold?: number;
}

export interface AutoRotationView {
  scope: KeyScope;
  enabled: boolean;
  interval_seconds: number | null;
  grace_seconds: number | null;
  usage_threshold: number | null;
  schedule: KeyScheduleView | null;
}

/** The scope's auto-rotation: the stored policy and the schedule as Temporal describes it. */
export async function autoRotationState(deps: Pick<AppDeps, 'db' | 'temporal'>, caller: Caller, scope: KeyScope): Promise<AutoRotationView> {
  await checkScope(deps, caller.tenantId, scope);
  const [policy, schedule] = await Promise.all([
    getKeyPolicy(deps.db, caller.tenantId, scope),
    describeKeySchedule(deps.temporal, caller.tenantId, scope),
  ]);
  return {
    scope,
    enabled: policy?.enabled ?? false,
    interval_seconds: policy?.interval_seconds ?? null,
    grace_seconds: policy?.grace_seconds ?? null,
    usage_threshold: policy?.usage_threshold ?? null,
    schedule,
  };
}

/**
 * Creates or replaces the scope's auto-rotation: with `interval_seconds`, a Temporal Schedule
 * (overlap SKIP) that starts KeyRotationWorkflow; with `usage_threshold`, a rotation once the
 * active key made that many signatures. Settings left out are switched off.
 */
export async function configureAutoRotation(deps: Pick<AppDeps, 'db' | 'temporal' | 'config'>, caller: Caller, input: AutoRotationIn) {
  const { scope } = input;
  await requireKeyring(deps, caller.tenantId, scope);
  const graceSeconds = input.grace_seconds ?? DEFAULT_GRACE_SECONDS;
  let scheduleId: string | null = null;
  if (input.interval_seconds !== undefined) {
    scheduleId = await upsertKeySchedule(deps.temporal, {
      tenantId: caller.tenantId,
      scope,
      intervalSeconds: input.interval_seconds,
      graceSeconds,
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    });
  } else {
    await stopKeySchedule(deps.temporal, caller.tenantId, scope, 'delete');
  }
  await upsertKeyPolicy(deps.db, caller.tenantId, scope, {
    interval_seconds: input.interval_seconds ?? null,
    grace_seconds: graceSeconds,
    usage_threshold: input.usage_threshold ?? null,
    enabled: true,
    schedule_id: scheduleId,
  });
  await recordAudit(deps.db, audit(caller, 'KeyAutoRotationConfigured', scheduleId, {
    ...scopeDetails(scope),
    interval_seconds: input.interval_seconds ?? null,
    grace_seconds: graceSeconds,
    usage_threshold: input.usage_threshold ?? null,
  }));
  return autoRotationState(deps, caller, scope);
}

/** Pauses the schedule and the usage trigger; `delete` removes both. 404 when nothing is configured. */
export async function disableAutoRotation(deps: Pick<AppDeps, 'db' | 'temporal'>, caller: Caller, input: { scope: KeyScope; delete?: boolean }) {
  const { scope } = input;
  await checkScope(deps, caller.tenantId, scope);
  const policy = await getKeyPolicy(deps.db, caller.tenantId, scope);
  if (!policy) throw new NotFoundError('auto-rotation', `${scope.type}:${scope.id}`);
  await stopKeySchedule(deps.temporal, caller.tenantId, scope, input.delete ? 'delete' : 'pause');
  if (input.delete) await deleteKeyPolicy(deps.db, caller.tenantId, scope);
  else await setKeyPolicyEnabled(deps.db, caller.tenantId, scope, false);
  await recordAudit(deps.db, audit(caller, 'KeyAutoRotationDisabled', policy.schedule_id, { ...scopeDetails(scope), deleted: input.delete === true }));
  return autoRotationState(deps, caller, scope);
}
