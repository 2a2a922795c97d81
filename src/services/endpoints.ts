import type { EndpointIn } from '../api/schemas';
import { insertEndpoint, type EndpointRecord } from '../db/endpoints-repo';
import { insertActiveKey } from '../db/signing-keys-repo';
import { newId } from '../ids';
import { generateSecret } from '../security/signing';
import type { AppDeps } from './deps';

/** Public view of an endpoint. The secret is never part of it. */
export function endpointOut(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    retry_config: endpoint.retry_config,
    is_active: endpoint.is_active,
    created_at: endpoint.created_at,
    updated_at: endpoint.updated_at,
  };
}

/** Creates an endpoint with its first signing key; the secret is returned here and only here. */
export async function createEndpoint(
  { db, box }: Pick<AppDeps, 'db' | 'box'>,
  tenantId: string,
  input: EndpointIn,
): Promise<{ endpoint: EndpointRecord; secret: string; keyId: string }> {
  const secret = input.secret ?? generateSecret();
  return db.transaction(async (trx) => {
    const endpoint = await insertEndpoint(trx, tenantId, {
      id: newId('ep'),
      url: input.url,
      description: input.description ?? null,
      events: input.events,
      retry_config: input.retry_config ?? null,
    });
    const keyId = await insertActiveKey(trx, box, tenantId, { type: 'endpoint', id: endpoint.id }, secret);
    return { endpoint, secret, keyId };
  });
}
