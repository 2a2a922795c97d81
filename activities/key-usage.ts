import { activityInfo, Context } from '@temporalio/activity';
import type { KeyScope } from '../src/domain/keys';
import { ignoreAlreadyStarted } from '../src/temporal/idempotent-start';
import { startKeyRotation } from '../src/temporal/key-rotations';
import type { Logger } from '../src/logger';

/**
 * Starts the scope's rotation once its active key has made `threshold` signatures. The workflow id
 * is the scope's and a running rotation is reused; a finished one is followed by a new run that
 * does nothing unless `activeKeyId` is still active, so repeated triggers are no-ops. During a
 * grace period (more than one valid key) a rotation is already under way: no trigger then.
 */
export async function rotateOnUsage(
  log: Logger,
  input: { tenantId: string; scope: KeyScope; keyIds: readonly string[]; activeUsage: number | null; usage: { threshold: number; graceSeconds: number } | null },
): Promise<void> {
  const { usage, activeUsage } = input;
  if (!usage || input.keyIds.length !== 1 || activeUsage === null || activeUsage < usage.threshold) return;
  try {
    await startKeyRotation(
      Context.current().client,
      activityInfo().taskQueue,
      { tenantId: input.tenantId, scope: input.scope, graceSeconds: usage.graceSeconds, expectedActiveKeyId: input.keyIds[0], trigger: 'usage', actor: 'usage-threshold' },
      'reuse-running',
    ).catch(ignoreAlreadyStarted);
  } catch (err) {
    // Signing must not fail because Temporal refused a start: the next signature retries it.
    log.warn({ err, scope: input.scope }, 'could not start usage-triggered key rotation');
  }
}
