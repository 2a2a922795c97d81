import type { AppDeps } from '../services/deps';
import { changeSettings, readSettings } from '../services/settings';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { tenantSettingsPatch as settingsIn } from './schemas';

/** `/api/v1/settings`: tenant-wide settings. */
export function settingsRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/settings', 'settings');
  table.add({ method: 'get', path: '/', summary: "The tenant's settings", scope: 'settings:manage' }, async ({ res }) => readSettings(deps, caller(res)));
  table.add({ method: 'patch', path: '/', summary: "Change the tenant's settings", scope: 'settings:manage', body: settingsIn }, async ({ body, res }) =>
    changeSettings(deps, caller(res), body),
  );
  return table;
}
