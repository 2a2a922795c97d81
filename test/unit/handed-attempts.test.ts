import { cachedEventBody } from '../../activities/event-bodies';
import { HANDOFF_TTL_MS, heldHandoffs, holdHandoff, MAX_HANDOFFS, takeHandoff } from '../../activities/handed-attempts';

/** What ingest handed a worker for first attempts: taken once, by the right delivery, while fresh. */
describe('handoffs held by a worker', () => {
  const delivery = (n: number) => ({ tenantId: 'ten_a', deliveryId: `dlv_${n}`, eventId: `evt_${n}`, endpointId: `ep_${n}` });
  const attempt = { url: 'https://example.test/hook', keys: [] };

  it('answers a handoff once, and its body from the body cache', () => {
    const t0 = 1_000_000;
    holdHandoff(delivery(1), { attempt, body: '{"id":"evt_1"}' }, t0);
    expect(cachedEventBody('ten_a', 'evt_1', t0 + 1)).toBe('{"id":"evt_1"}');
    expect(takeHandoff(delivery(1), t0 + 1)).toEqual(attempt);
    // Taken: a step run again finds nothing and reads the database.
    expect(takeHandoff(delivery(1), t0 + 2)).toBeUndefined();
  });

  it('answers nothing to another tenant or endpoint, and forgets it even so', () => {
    const t0 = 2_000_000;
    holdHandoff(delivery(2), { attempt }, t0);
    expect(takeHandoff({ ...delivery(2), tenantId: 'ten_b' }, t0 + 1)).toBeUndefined();
    expect(takeHandoff(delivery(2), t0 + 2)).toBeUndefined();
    holdHandoff(delivery(3), { attempt }, t0);
    expect(takeHandoff({ ...delivery(3), endpointId: 'ep_other' }, t0 + 1)).toBeUndefined();
  });

  it('drops a handoff not taken within HANDOFF_TTL_MS', () => {
    const t0 = 3_000_000;
    holdHandoff(delivery(4), { attempt }, t0);
    expect(takeHandoff(delivery(4), t0 + HANDOFF_TTL_MS)).toBeUndefined();
    holdHandoff(delivery(5), { attempt }, t0);
    holdHandoff(delivery(6), { attempt }, t0 + HANDOFF_TTL_MS);
    // Holding a new one lets the expired ones go.
    expect(heldHandoffs()).toBe(1);
    expect(takeHandoff(delivery(6), t0 + HANDOFF_TTL_MS + 1)).toEqual(attempt);
  });

  it('keeps at most MAX_HANDOFFS; past that, new ones are not kept', () => {
    const t0 = 4_000_000;
    for (let i = 0; i < MAX_HANDOFFS + 5; i++) holdHandoff(delivery(100 + i), { attempt }, t0);
    expect(heldHandoffs()).toBe(MAX_HANDOFFS);
    expect(takeHandoff(delivery(100), t0 + 1)).toEqual(attempt);
    expect(takeHandoff(delivery(100 + MAX_HANDOFFS), t0 + 1)).toBeUndefined();
    holdHandoff(delivery(1), { attempt }, t0 + HANDOFF_TTL_MS);
    expect(heldHandoffs()).toBe(1);
  });
});
