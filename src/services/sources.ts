import type { Caller } from '../domain/caller';
import { auditedBy, recordAudit, type AuditAction } from '../db/audit-repo';
import { getSource, insertSource, softDeleteSource, updateSource, type SourceRecord, type SourceWrite } from '../db/inbound-repo';
import { insertActiveKey } from '../db/signing-keys-repo';
import { ForbiddenError, ValidationError } from '../errors';
import { newId } from '../ids';
import { generateSecret } from '../security/signing';
import type { AppDeps } from './deps';

const audit = (caller: Caller, action: AuditAction, id: string) => ({ ...auditedBy(caller), action, resourceType: 'source', resourceId: id });

function assertDefaultAllowed(allowed: string[], fallback: string): void {
  if (!allowed.includes(fallback)) {
    throw new ValidationError('default_handler must be one of allowed_handlers', [{ path: 'body.default_handler', message: 'not in allowed_handlers' }]);
  }
}

/**
 * A source allowed the `relay` handler turns its requests into outbound events: whoever sets it up
 * (or changes it) must be allowed to send events, not only to manage sources.
 */
function assertMayRelay(caller: Caller, handlers: string[]): void {
  if (handlers.includes('relay') && !caller.scopes.has('events:write')) {
    throw new ForbiddenError('a source with the relay handler emits events: this needs the events:write scope as well as sources:write');
  }
}

/** Registers an inbound source with its first key; the secret is returned here and only here. */
export async function createSource(
  { db, box }: Pick<AppDeps, 'db' | 'box'>,
  caller: Caller,
  input: SourceWrite & { secret?: string },
): Promise<{ source: SourceRecord; secret: string; keyId: string }> {
  const { secret: given, ...write } = input;
  assertDefaultAllowed(write.allowed_handlers, write.default_handler);
  assertMayRelay(caller, write.allowed_handlers);
  const secret = given ?? generateSecret();
  const id = newId('src');
  return db.transaction(async (trx) => {
    const source = await insertSource(trx, caller.tenantId, id, write);
    const keyId = await insertActiveKey(trx, box, caller.tenantId, { type: 'source', id }, newId('key'), secret);
    await recordAudit(trx, audit(caller, 'SourceCreated', id));
    return { source, secret, keyId };
  });
}

/** Changes some fields of a source; its handlers must still include the default one. */
export async function changeSource({ db }: Pick<AppDeps, 'db'>, caller: Caller, id: string, input: Partial<SourceWrite>): Promise<SourceRecord> {
  return db.transaction(async (trx) => {
    const current = await getSource(trx, caller.tenantId, id);
    assertDefaultAllowed(input.allowed_handlers ?? current.allowed_handlers, input.default_handler ?? current.default_handler);
    assertMayRelay(caller, input.allowed_handlers ?? current.allowed_handlers);
    const updated = await updateSource(trx, caller.tenantId, id, input);
    await recordAudit(trx, audit(caller, 'SourceUpdated', id));
    return updated;
  });
}

/** Removes a source: its requests are refused from now on. */
export async function deleteSource({ db }: Pick<AppDeps, 'db'>, caller: Caller, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    await softDeleteSource(trx, caller.tenantId, id);
    await recordAudit(trx, audit(caller, 'SourceDeleted', id));
  });
}
