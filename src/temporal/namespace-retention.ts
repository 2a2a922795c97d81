import type { Connection } from '@temporalio/client';
import { msNumberToTs, optionalTsToMs } from '@temporalio/common/lib/time';
import type { Logger } from '../logger';

const DAY_SECONDS = 86_400;

/**
 * Sets how long the namespace keeps closed workflows (delivery histories, the delivery log's
 * source) to `days`, unless it already does. The project does this on the namespace it creates
 * (the local dev server); a cluster's operators do it with `temporal operator namespace update`.
 */
export async function ensureNamespaceRetention(connection: Pick<Connection, 'workflowService'>, namespace: string, days: number, log: Logger): Promise<void> {
  const described = await connection.workflowService.describeNamespace({ namespace });
  const current = (optionalTsToMs(described.config?.workflowExecutionRetentionTtl) ?? 0) / 1000;
  if (current === days * DAY_SECONDS) return;
  await connection.workflowService.updateNamespace({
    namespace,
    config: { workflowExecutionRetentionTtl: msNumberToTs(days * DAY_SECONDS * 1000) },
  });
  log.info({ namespace, retentionDays: days, wasDays: current / DAY_SECONDS }, 'namespace retention set');
}
