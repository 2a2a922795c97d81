import { getEndpoint } from '../src/db/endpoints-repo';
import { NotFoundError } from '../src/errors';
import { DEFAULT_JITTER } from '../src/domain/retry-config';
import type { DeliveryIn } from '../src/temporal/delivery-workflows';
import { retryDelaysMs } from '../workflows/retry-policy';
import type { ActivityDeps } from './deps';
import type { DeliveryPlan } from './types';

/** Reads the endpoint's retry config and timeout; no secret leaves this activity. */
export function makeLoadDeliveryPlan({ db, config }: ActivityDeps) {
  return async function loadDeliveryPlan(input: DeliveryIn): Promise<DeliveryPlan> {
    const base = { delaysMs: [], jitter: 0, timeoutMs: config.DELIVERY_TIMEOUT_MS, retryAfterMaxMs: config.RETRY_AFTER_MAX_MS };
    try {
      const endpoint = await getEndpoint(db, input.tenantId, input.endpointId);
      if (!endpoint.is_active) return { ...base, active: false };
      const retry = endpoint.retry_config;
      return {
        active: true,
        delaysMs: retryDelaysMs(retry),
        jitter: retry?.jitter ?? DEFAULT_JITTER,
        timeoutMs: retry?.timeout_ms ?? config.DELIVERY_TIMEOUT_MS,
        retryAfterMaxMs: config.RETRY_AFTER_MAX_MS,
      };
    } catch (err) {
      if (err instanceof NotFoundError) return { ...base, active: false };
      throw err;
    }
  };
}
