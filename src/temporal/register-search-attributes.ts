import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { Logger } from '../logger';
import { SEARCH_ATTRIBUTES } from './search-attributes';

/** The Temporal CLI's spelling of each search attribute type (`--type` of `search-attribute create`). */
const CLI_TYPE_NAMES: Readonly<Record<string, string>> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** The Temporal CLI's name of a search attribute type, e.g. `KEYWORD` → `Keyword`. */
export function cliSearchAttributeType(type: string): string {
  return CLI_TYPE_NAMES[type] ?? type;
}

/** gRPC status code ALREADY_EXISTS. */
const GRPC_ALREADY_EXISTS = 6;

/** Reads the custom search attributes of a namespace: name → indexed value type (proto enum). */
async function listCustomSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<Map<string, number>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  return new Map(Object.entries(response.customAttributes ?? {}).map(([name, type]) => [name, Number(type)]));
}

/**
 * Registers every search attribute of {@link SEARCH_ATTRIBUTES} that the namespace lacks, through
 * the operator service. Idempotent: attributes already present with the right type are left
 * alone, and a concurrent registration by another process (an "already exists" answer) is
 * tolerated by reading the list again.
 *
 * Needed because the dev server's `--search-attribute` flags only apply when a namespace is first
 * created: a dev server restarted on an existing SQLite file, or an older file, would otherwise lack
 * attributes added since.
 *
 * Returns the names this call registered (none when all were there, or another process added them).
 *
 * @throws Error when an attribute exists with another type, or the server refuses to add one.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  log: Logger,
): Promise<string[]> {
  const wanted = new Map<string, number>();
  for (const key of SEARCH_ATTRIBUTES) {
    const type = encodeSearchAttributeIndexedValueType(key.type);
    if (type === undefined) throw new Error(`search attribute ${key.name}: unknown type ${key.type}`);
    wanted.set(key.name, type);
  }

  const missingFrom = (existing: Map<string, number>): Map<string, number> => {
    const missing = new Map<string, number>();
    for (const [name, type] of wanted) {
      const actual = existing.get(name);
      if (actual === undefined) {
        missing.set(name, type);
      } else if (actual !== type) {
        throw new Error(
          `search attribute ${name} exists in namespace ${namespace} with type ${actual} (proto enum), ` +
            `but this service needs type ${type}; remove or rename it on the cluster`,
        );
      }
    }
    return missing;
  };

  let missing = missingFrom(await listCustomSearchAttributes(connection, namespace));
  if (missing.size === 0) {
    log.debug({ namespace }, 'search attributes already registered');
    return [];
  }

  // Two tries: the second one covers a concurrent registration that made the batch fail.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing),
      });
      log.info({ namespace, added: [...missing.keys()] }, 'registered search attributes');
      return [...missing.keys()];
    } catch (err) {
      const alreadyExists = isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS;
      missing = missingFrom(await listCustomSearchAttributes(connection, namespace));
      if (missing.size === 0) {
        log.debug({ namespace }, 'search attributes registered concurrently');
        return [];
      }
      if (attempt >= 2 || !alreadyExists) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(
          `could not register search attributes ${[...missing.keys()].join(', ')} in namespace ${namespace}: ${reason}`,
          { cause: err },
        );
      }
    }
  }
}
