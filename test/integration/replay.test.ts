import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { attemptsInHistory } from '../../src/temporal/delivery-log';
import { dataConverter } from '../../src/temporal/payload-codec';
import { testConfig } from '../helpers/stack';

/**
 * Histories recorded by the service before the one-step attempt (test/fixtures/histories, made
 * by the four-step deliveryWorkflow: a flaky receiver, a rate-limited wait, a template, a
 * cancellation, a dead letter, and a delivery still waiting to retry), and a key rotation
 * recorded before `key.expiring` (its grace period in one timer). Each must replay on today's
 * workflow code: a workflow started before an upgrade finishes after it.
 */
const DIR = path.join(__dirname, '..', 'fixtures', 'histories');
const histories = readdirSync(DIR).filter((f) => f.endsWith('.bin'));

describe('when deliveries started before the one-step attempt are replayed on today’s code', () => {
  it.each(histories)('then %s replays without a nondeterminism error', async (file) => {
    const history = temporal.api.history.v1.History.decode(readFileSync(path.join(DIR, file)));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, dataConverter: dataConverter(testConfig()) },
      history,
      file,
    );
  });
});

describe('when the delivery log reads those histories', () => {
  const read = async (file: string) =>
    attemptsInHistory(temporal.api.history.v1.History.decode(readFileSync(path.join(DIR, `${file}.bin`))), loadDataConverter(dataConverter(testConfig())));

  it('then a delivery that failed twice then succeeded shows its three sendWebhook attempts', async () => {
    const attempts = await read('legacy-flaky-succeeded');
    expect(attempts.map((a) => [a.attempt, a.response_status, a.outcome])).toEqual([
      [1, 500, 'retryable'],
      [2, 503, 'retryable'],
      [3, 204, 'succeeded'],
    ]);
    expect(attempts[0]).toMatchObject({ error_class: 'http_5xx', response_excerpt: 'boom' });
  });

  it('then a dead letter shows its refused attempt', async () => {
    expect(await read('legacy-failed')).toEqual([expect.objectContaining({ attempt: 1, response_status: 400, outcome: 'failed', error_class: 'http_4xx' })]);
  });
});
