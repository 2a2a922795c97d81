import { ApplicationFailure } from '@temporalio/activity';
import { getEventBody } from '../src/db/events-repo';
import { incrementKeyUsage, loadValidKeys } from '../src/db/signing-keys-repo';
import { signXSignature } from '../src/security/signing';
import type { ActivityDeps } from './deps';
import type { AttemptIn, SignOut } from './types';

export const USER_AGENT = 'temporal-webhooks/0.1';

/**
 * Signs one attempt with a fresh timestamp and nonce. Loads the secret and body here, so neither
 * enters workflow history; only the resulting headers do.
 */
export function makeSignRequest({ db, box }: ActivityDeps) {
  return async function signRequest(input: AttemptIn): Promise<SignOut> {
    const [body, keys] = await Promise.all([
      getEventBody(db, input.eventId),
      loadValidKeys(db, box, { type: 'endpoint', id: input.endpointId }),
    ]);
    if (keys.length === 0) {
      throw ApplicationFailure.nonRetryable(`endpoint ${input.endpointId} has no signing key`, 'NoSigningKey');
    }
    const keyIds = keys.map((k) => k.id);
    await incrementKeyUsage(db, keyIds);
    return {
      keyIds,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'x-delivery-id': input.deliveryId,
        'x-event-id': input.eventId,
        'x-event-type': input.eventType,
        'x-attempt': String(input.attempt),
        ...signXSignature(keys, body, new Date()),
      },
    };
  };
}
