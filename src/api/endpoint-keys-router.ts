import { z } from 'zod';
import { rotateEndpointSecret } from '../services/keys';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { graceSeconds } from './keys-router';
import { RouteTable } from './route-table';
import { resourceId } from './schemas';

const params = z.object({ id: resourceId('ep') }).strict();
const rotateIn = z.object({ grace_seconds: graceSeconds.optional() }).strict();

/** `/api/v1/endpoints/:id/secret`: an endpoint's signing secret, rotated from the endpoint resource. */
export function endpointKeysRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/endpoints', 'endpoints');
  table.add(
    { method: 'post', path: '/:id/secret/rotate', summary: 'Rotate the endpoint secret (old one valid during grace_seconds, default 24 h)', scope: 'keys:manage', params, body: rotateIn, status: 202 },
    async ({ params, body, res }) => rotateEndpointSecret(deps, caller(res), params.id, body.grace_seconds),
  );
  return table;
}
