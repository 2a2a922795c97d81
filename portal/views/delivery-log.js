import { html, useState } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { CursorPager, ErrorBox, fmtTime, go, StatusBadge, useLoad } from '../ui.js';

const PAGE = 20;
const STATES = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'];

/** A datetime-local value (local time, no zone) as ISO 8601 with an offset, as the API wants. */
const isoOf = (local) => (local ? new Date(local).toISOString() : undefined);

export function DeliveryLog({ endpoint, query }) {
  const filters = { status: query.status || '', event_type: query.event_type || '', since: query.since || '', until: query.until || '' };
  const [draft, setDraft] = useState(filters);
  const cursor = query.cursor || '';
  const { data, error, loading } = useLoad(
    () => api('GET', `/endpoints/${endpoint.id}/deliveries`, undefined, { limit: PAGE, cursor, status: filters.status, event_type: filters.event_type, since: isoOf(filters.since), until: isoOf(filters.until) }),
    [endpoint.id, cursor, filters.status, filters.event_type, filters.since, filters.until],
  );
  const here = `/endpoints/${endpoint.id}/deliveries`;
  const apply = (e) => {
    e.preventDefault();
    go(here, draft);
  };
  const set = (field) => (e) => setDraft({ ...draft, [field]: e.target.value });
  // One row per delivery: a redelivered one lists its newest run.
  const seen = new Set();
  const rows = (data?.items || []).filter((d) => (seen.has(d.workflow_id) ? false : (seen.add(d.workflow_id), true)));
  return html`
    <h2>Delivery log</h2>
    <form class="filters" onSubmit=${apply} aria-label="Filter deliveries">
      <label>Status
        <select value=${draft.status} onChange=${set('status')}>
          <option value="">any</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label>Event type
        <input value=${draft.event_type} onInput=${set('event_type')} placeholder="order.created" />
      </label>
      <label>From <input type="datetime-local" value=${draft.since} onInput=${set('since')} /></label>
      <label>Until <input type="datetime-local" value=${draft.until} onInput=${set('until')} /></label>
      <button type="submit">Apply filters</button>
      <button type="button" class="secondary" onClick=${() => { setDraft({ status: '', event_type: '', since: '', until: '' }); go(here); }}>Clear</button>
    </form>
    <${ErrorBox} error=${error} />
    ${loading && !data && html`<p class="loading">Loading deliveries…</p>`}
    ${data && rows.length === 0 && html`<p class="empty">No deliveries${filters.status || filters.event_type || filters.since || filters.until ? ' match these filters' : ' yet'}.</p>`}
    ${data && rows.length > 0 && html`
      <p class="sub">${data.total} run${data.total === 1 ? '' : 's'} in all</p>
      <table class="list">
        <caption class="sr-only">Deliveries to this endpoint, newest first</caption>
        <thead><tr><th scope="col">Delivery</th><th scope="col">Event type</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Ended</th></tr></thead>
        <tbody>
          ${rows.map((d) => html`<tr>
            <td data-label="Delivery">${d.id ? html`<a href=${`#/deliveries/${d.id}`}>${d.id}</a>` : d.workflow_id}</td>
            <td data-label="Event type"><code>${d.event_type}</code></td>
            <td data-label="Status"><${StatusBadge} status=${d.status} /></td>
            <td data-label="Started">${fmtTime(d.started_at)}</td>
            <td data-label="Ended">${fmtTime(d.closed_at)}</td>
          </tr>`)}
        </tbody>
      </table>`}
    <${CursorPager} cursor=${cursor} next=${data?.next_cursor} onFirst=${() => go(here, filters)} onNext=${(next) => go(here, { ...filters, cursor: next })} />
  `;
}
