import { Router } from 'express';
import { RETRY_AFTER_SECONDS, UnauthorizedError } from '../errors';
import { scrapeAllowed } from '../metrics';
import type { AppDeps } from '../services/deps';
import { within } from '../within';

const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return within(promise, PROBE_TIMEOUT_MS, () => new Error('timed out'));
}

/**
 * `/healthz`: the process answers. `/readyz`: the database and Temporal answer too (which one does
 * not is said; why is logged, never answered: error text can name hosts and users). `/metrics`:
 * Prometheus text format, behind `METRICS_TOKEN` when one is set.
 */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true, data: { status: 'up' } });
  });
  router.get('/readyz', async (_req, res) => {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await withTimeout(probe());
        return 'ok';
      } catch (err) {
        deps.log.warn({ err }, 'readiness probe failed');
        return 'unreachable';
      }
    };
    const [database, temporal] = await Promise.all([
      check(() => deps.db.raw('select 1')),
      check(() => deps.temporal.workflowService.getSystemInfo({})),
    ]);
    const ready = database === 'ok' && temporal === 'ok';
    if (ready) res.json({ ok: true, data: { database, temporal } });
    else res.status(503).setHeader('retry-after', String(RETRY_AFTER_SECONDS)).json({ ok: false, err: 'not_ready', msg: `database: ${database}; temporal: ${temporal}` });
  });
  router.get('/metrics', async (req, res) => {
    if (!scrapeAllowed(deps.config.METRICS_TOKEN, req.get('authorization'))) throw new UnauthorizedError('/metrics needs Authorization: Bearer <METRICS_TOKEN>');
    const { contentType, body } = await deps.metrics.scrape();
    res.type(contentType).send(body);
  });
  return router;
}
