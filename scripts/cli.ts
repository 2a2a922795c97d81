import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openSecretBox } from '../src/bootstrap';
import { loadConfig, loadDotEnv, type Config } from '../src/config';
import { listApiKeys } from '../src/db/api-keys-repo';
import { migrate, openDatabase, type Db } from '../src/db/knex';
import { addCounts, batchWasFull, markPurgeHorizon, purgeBatch } from '../src/db/retention-repo';
import { sendInbound } from '../src/inbound/sender';
import { createLogger } from '../src/logger';
import { listPlatformKeys } from '../src/db/platform-keys-repo';
import { isPlatformScope, isScope, PLATFORM_SCOPES, ROLES, type PlatformScope, type Role, type Scope } from '../src/domain/scopes';
import { apiKeyOut, createApiKey, resolveScopes, revokeKey } from '../src/services/api-keys';
import { createPlatformKey, platformKeyOut, revokePlatformKeyAudited } from '../src/services/platform-keys';
import { resealSecrets } from '../src/services/reseal';

const USAGE = `usage: npm run cli -- <command>

  api-keys create --name NAME [--role admin|operator|viewer | --scopes a,b] [--tenant ID] [--expires-at ISO]
  api-keys list [--tenant ID]
  api-keys revoke KEY_ID [--tenant ID]
  tenants create ID [--name NAME]
  tenants list
  platform-keys create --name NAME [--scopes tenants:read,tenants:manage,platform-keys:manage] [--expires-at ISO]
  platform-keys list
  platform-keys revoke KEY_ID
  inbound send --url URL --secret whsec_… (--source SRC_ID | --key-id KEY_ID) (--data JSON | --file PATH)
  keys reseal [--batch N]   re-seal every secret at rest under MASTER_KEY (after a master key rotation:
                            the old key in MASTER_KEY_PREVIOUS); safe to stop and run again
  prune --before ISO [--tenant ID] [--batch N]
                            delete deliveries (with their attempts), events and ended recoveries created
                            before that time, of one tenant or all, in batches; safe to stop and run again

The tenant defaults to DEFAULT_TENANT_ID. The database is the one the service uses (DATABASE_URL,
or the embedded one); it is migrated first.`;

class UsageError extends Error {}

function options(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      scopes: { type: 'string' },
      tenant: { type: 'string' },
      'expires-at': { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      source: { type: 'string' },
      'key-id': { type: 'string' },
      data: { type: 'string' },
      file: { type: 'string' },
      batch: { type: 'string' },
      before: { type: 'string' },
    },
  });
}

async function apiKeys(db: Db, tenantDefault: string, verb: string | undefined, args: string[]) {
  const { values, positionals } = options(args);
  const tenantId = values.tenant ?? tenantDefault;
  if (!(await db('tenants').where({ id: tenantId }).first())) throw new UsageError(`no tenant ${tenantId} (create it with: tenants create ${tenantId})`);
  if (verb === 'create') {
    if (!values.name) throw new UsageError('--name is required');
    if (values.role && !(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const scopes = values.scopes?.split(',').map((s) => s.trim());
    const bad = scopes?.filter((s) => !isScope(s)) ?? [];
    if (bad.length > 0) throw new UsageError(`unknown scopes: ${bad.join(', ')}`);
    const expiresAt = values['expires-at'] ? new Date(values['expires-at']) : null;
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new UsageError('--expires-at must be an ISO date');
    const { key, record } = await createApiKey(db, null, {
      tenantId,
      name: values.name,
      scopes: resolveScopes({ scopes: scopes as Scope[] | undefined, role: (values.role as Role | undefined) ?? (scopes ? undefined : 'admin') }),
      expiresAt,
    });
    process.stdout.write(`${JSON.stringify(apiKeyOut(record), null, 2)}\n\nAPI key (shown once, keep it safe):\n${key}\n`);
  } else if (verb === 'list') {
    const { items } = await listApiKeys(db, tenantId, { limit: 200, offset: 0 });
    for (const k of items.map(apiKeyOut)) process.stdout.write(`${k.id}  ${k.prefix}…  ${k.status.padEnd(7)}  ${k.name}  [${k.scopes.join(' ')}]\n`);
  } else if (verb === 'revoke') {
    if (!positionals[0]) throw new UsageError('give the key id to revoke');
    process.stdout.write(`${JSON.stringify(apiKeyOut(await revokeKey(db, null, tenantId, positionals[0])), null, 2)}\n`);
  } else throw new UsageError(`unknown api-keys command: ${verb ?? '(none)'}`);
}

async function tenants(db: Db, verb: string | undefined, args: string[]) {
  const { values, positionals } = options(args);
  if (verb === 'create') {
    const id = positionals[0];
    if (!id || !/^[a-z0-9_-]{1,64}$/.test(id)) throw new UsageError('give a tenant id: lowercase letters, digits, _ and -');
    await db('tenants').insert({ id, name: values.name ?? id }).onConflict('id').ignore();
    process.stdout.write(`tenant ${id} ready\n`);
  } else if (verb === 'list') {
    for (const t of await db('tenants').select('id', 'name', 'status').orderBy('id')) process.stdout.write(`${t.id}  ${t.status.padEnd(8)}  ${t.name}\n`);
  } else throw new UsageError(`unknown tenants command: ${verb ?? '(none)'}`);
}

/** Platform keys (`whp_…`): the first one, when PLATFORM_API_TOKEN is not used, comes from here. */
async function platformKeys(db: Db, verb: string | undefined, args: string[]) {
  const { values, positionals } = options(args);
  if (verb === 'create') {
    if (!values.name) throw new UsageError('--name is required');
    const scopes = values.scopes?.split(',').map((s) => s.trim()) ?? [...PLATFORM_SCOPES];
    const bad = scopes.filter((s) => !isPlatformScope(s));
    if (bad.length > 0) throw new UsageError(`unknown platform scopes: ${bad.join(', ')}`);
    const expiresAt = values['expires-at'] ? new Date(values['expires-at']) : null;
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new UsageError('--expires-at must be an ISO date');
    const { key, record } = await createPlatformKey(db, null, { name: values.name, scopes: [...new Set(scopes)] as PlatformScope[], expiresAt });
    process.stdout.write(`${JSON.stringify(platformKeyOut(record), null, 2)}\n\nPlatform API key (shown once, keep it safe):\n${key}\n`);
  } else if (verb === 'list') {
    const { items } = await listPlatformKeys(db, { limit: 200, offset: 0 });
    for (const k of items.map(platformKeyOut)) process.stdout.write(`${k.id}  ${k.prefix}…  ${k.status.padEnd(7)}  ${k.name}  [${k.scopes.join(' ')}]\n`);
  } else if (verb === 'revoke') {
    if (!positionals[0]) throw new UsageError('give the key id to revoke');
    process.stdout.write(`${JSON.stringify(platformKeyOut(await revokePlatformKeyAudited(db, null, positionals[0])), null, 2)}\n`);
  } else throw new UsageError(`unknown platform-keys command: ${verb ?? '(none)'}`);
}

/** `keys reseal`: every secret at rest under the current master key. */
async function keys(db: Db, config: Config, verb: string | undefined, args: string[]) {
  if (verb !== 'reseal') throw new UsageError(`unknown keys command: ${verb ?? '(none)'}`);
  const { values } = options(args);
  const batch = values.batch === undefined ? 200 : Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new UsageError('--batch must be a whole number from 1 to 10000');
  const box = openSecretBox(config, createLogger('warn', 'cli'));
  const out = await resealSecrets(db, box, { batch, progress: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(
    `master key ${out.keyId}: ${out.signingKeys} signing keys and ${out.endpoints} endpoints re-sealed` +
      ` (${out.urlsSealed} secret URLs stored in clear now sealed)\n`,
  );
  for (const failure of out.failures) process.stdout.write(`could not re-seal ${failure.table} ${failure.id}: ${failure.reason}\n`);
  if (out.failures.length > 0) {
    process.stdout.write('add the master keys named above to MASTER_KEY_PREVIOUS and run again\n');
    process.exitCode = 1;
  }
}

/** Signs and sends one inbound webhook, as a partner would; needs no database. */
async function inbound(verb: string | undefined, args: string[]) {
  if (verb !== 'send') throw new UsageError(`unknown inbound command: ${verb ?? '(none)'}`);
  const { values } = options(args);
  if (!values.url || !values.secret) throw new UsageError('--url and --secret are required');
  if (!values.source && !values['key-id']) throw new UsageError('give --source or --key-id');
  if (Boolean(values.data) === Boolean(values.file)) throw new UsageError('give the body with --data or --file');
  const body = values.data ?? readFileSync(values.file!, 'utf8');
  const res = await sendInbound({ url: values.url, secret: values.secret, sourceId: values.source, keyId: values['key-id'], body });
  process.stdout.write(`${res.status}\n${JSON.stringify(res.body, null, 2)}\n`);
  if (res.status >= 400) process.exitCode = 1;
}

/** `prune`: a one-off purge, as retention does on schedule, with a cutoff of one's own. */
async function prune(db: Db, args: string[]) {
  const { values } = options(args);
  if (!values.before) throw new UsageError('--before is required (an ISO date or time)');
  const before = new Date(values.before);
  if (Number.isNaN(before.getTime())) throw new UsageError('--before must be an ISO date or time');
  if (before.getTime() > Date.now()) throw new UsageError('--before must not be in the future');
  const batch = values.batch === undefined ? 500 : Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new UsageError('--batch must be a whole number from 1 to 10000');
  if (values.tenant && !(await db('tenants').where({ id: values.tenant }).first())) throw new UsageError(`no tenant ${values.tenant}`);
  const scope = { before, ...(values.tenant ? { tenantId: values.tenant } : {}) };
  await markPurgeHorizon(db, scope);
  let total = { deliveries: 0, attempts: 0, events: 0, recoveries: 0 };
  for (;;) {
    const counts = await purgeBatch(db, scope, batch);
    total = addCounts(total, counts);
    if (!batchWasFull(counts, batch)) break;
    process.stderr.write(`… ${total.deliveries} deliveries, ${total.events} events so far\n`);
  }
  process.stdout.write(
    `pruned ${values.tenant ? `tenant ${values.tenant}` : 'every tenant'} before ${before.toISOString()}: ` +
      `${total.deliveries} deliveries, ${total.attempts} attempts, ${total.events} events, ${total.recoveries} recoveries\n`,
  );
}

async function main() {
  const [group, verb, ...rest] = process.argv.slice(2);
  if (!group || group === '--help' || group === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (group === 'inbound') return inbound(verb, rest);
  loadDotEnv();
  const config = loadConfig();
  const db = openDatabase(config, createLogger('warn', 'cli'));
  try {
    await migrate(db, config.DEFAULT_TENANT_ID);
    if (group === 'api-keys') await apiKeys(db, config.DEFAULT_TENANT_ID, verb, rest);
    else if (group === 'tenants') await tenants(db, verb, rest);
    else if (group === 'platform-keys') await platformKeys(db, verb, rest);
    else if (group === 'keys') await keys(db, config, verb, rest);
    else if (group === 'prune') await prune(db, [verb, ...rest].filter((a): a is string => a !== undefined));
    else throw new UsageError(`unknown command: ${group}`);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
