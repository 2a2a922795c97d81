import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import { MAX_PENDING_EVENTS, streamAttempts } from '../../src/api/event-stream';
import type { StreamedAttemptRow } from '../../src/db/attempts-repo';
import type { Db } from '../../src/db/knex';
import type { AttemptHub, AttemptSubscriber } from '../../src/services/attempt-stream';

/** A response whose socket drains or not, as the test says. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  ended: string | null = null;
  draining = true;
  writeHead() {
    return this;
  }
  flushHeaders() {}
  write(text: string) {
    this.written.push(text);
    return this.draining;
  }
  end(text: string) {
    this.ended = text;
  }
  destroy() {}
}

const row = (id: number): StreamedAttemptRow => ({
  id: String(id), tenant_id: 't', delivery_id: 'dlv_x', endpoint_id: 'ep_x', event_id: 'evt_x', event_type: 'a.b', attempt: 1,
  outcome: 'succeeded', response_status: 200, error_class: null, duration_ms: 3, started_at: new Date(0), delivery_status: 'succeeded',
});

async function open() {
  const res = new FakeResponse();
  const req = new EventEmitter();
  let subscriber: AttemptSubscriber | undefined;
  const unsubscribe = jest.fn();
  const hub = { subscribe: async (_t: string, s: AttemptSubscriber) => ((subscriber = s), unsubscribe) } as unknown as AttemptHub;
  await streamAttempts({} as Db, hub, { tenantId: 't', filter: {}, resumeFrom: null }, req as unknown as Request, res as unknown as Response);
  const ids = () => res.written.filter((w) => w.startsWith('event: attempt')).map((w) => /\nid: (\d+)\n/.exec(w)![1]);
  return { res, req, push: (r: StreamedAttemptRow) => subscriber!.push(r), unsubscribe, ids };
}

describe('when a client reads its stream', () => {
  it('then every event is written at once, in order', async () => {
    const s = await open();
    [1, 2, 3].forEach((n) => s.push(row(n)));
    expect(s.ids()).toEqual(['1', '2', '3']);
  });
});

describe('when a socket stops draining for a while', () => {
  it('then events wait and go out in order once it drains', async () => {
    const s = await open();
    s.res.draining = false;
    [1, 2, 3].forEach((n) => s.push(row(n)));
    expect(s.ids()).toEqual(['1']);
    s.res.draining = true;
    s.res.emit('drain');
    expect(s.ids()).toEqual(['1', '2', '3']);
    expect(s.res.ended).toBeNull();
  });
});

describe('when a socket does not drain and too many events wait', () => {
  it('then the stream ends with an overflow event naming the last id sent, and leaves the hub', async () => {
    const s = await open();
    s.res.draining = false;
    for (let n = 1; n <= MAX_PENDING_EVENTS + 2; n++) s.push(row(n));
    expect(s.ids()).toEqual(['1']);
    expect(s.res.ended).toBe(`event: overflow\ndata: ${JSON.stringify({ reason: 'slow_client', last_event_id: '1' })}\n\n`);
    expect(s.unsubscribe).toHaveBeenCalledTimes(1);
    s.req.emit('close');
    expect(s.unsubscribe).toHaveBeenCalledTimes(1);
  });
});

describe('when the client disconnects', () => {
  it('then the stream leaves the hub and writes nothing more', async () => {
    const s = await open();
    s.req.emit('close');
    s.push(row(1));
    expect(s.unsubscribe).toHaveBeenCalledTimes(1);
    expect(s.ids()).toEqual([]);
  });
});
