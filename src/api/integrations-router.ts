import { INTEGRATION_CATALOG } from '../integrations/catalog';
import type { AppDeps } from '../services/deps';
import { RouteTable } from './route-table';

/**
 * `/api/v1/integrations`: the catalog of integration kinds. An integration is configured, tested
 * and followed as an endpoint with a `template` (`POST /endpoints`, `POST /endpoints/:id/test`,
 * `GET /endpoints/:id`), so the catalog is all this resource adds.
 */
export function integrationsRoutes(_deps: AppDeps): RouteTable {
  const table = new RouteTable('/integrations', 'integrations');
  table.add(
    { method: 'get', path: '/', summary: 'Integration kinds: their template fields and a worked example each', scope: 'endpoints:read' },
    async () => ({ items: INTEGRATION_CATALOG, total: INTEGRATION_CATALOG.length }),
  );
  return table;
}
