import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import type { Logger } from '../../logger';
import { ensureSearchAttributes } from '../../temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';

const GRPC_ALREADY_EXISTS = 6;
const DAY_S = 86_400;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Registers `namespace` with `retentionDays` (closed workflows are deleted that long after they
 * close), or sets the retention of an existing one; then registers the project's search
 * attributes and waits until a visibility query naming them is accepted (a new namespace reaches
 * every service of the cluster within its namespace-cache refresh, a few seconds).
 */
export async function ensureNamespace(connection: Connection, namespace: string, retentionDays: number, log: Logger, deadline: number): Promise<void> {
  const retention = msToTs(retentionDays * DAY_S * 1000);
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention, description: 'temporal-webhooks' });
    log.info({ namespace, retentionDays }, 'registered the namespace');
  } catch (err) {
    if (!(isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS)) throw err;
    const described = await connection.workflowService.describeNamespace({ namespace });
    const current = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    if (current !== retentionDays * DAY_S) {
      await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: retention } });
      log.info({ namespace, retentionDays, wasDays: current / DAY_S }, 'updated the namespace retention');
    }
  }

  let lastError: string;
  for (;;) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      await ensureSearchAttributes(connection, namespace, log);
      const query = SEARCH_ATTRIBUTES.map((key) => `${key.name} = 'readiness-probe'`).join(' AND ');
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1, query });
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} did not become usable: ${lastError}`);
    await delay(500);
  }
}
