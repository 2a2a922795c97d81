import { html, useEffect, useState } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { ErrorBox, fmtMs, fmtTime, Notice, StatusBadge, useLoad } from '../ui.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'terminated']);

function Attempt({ a }) {
  const kind = a.outcome === 'succeeded' ? 'ok' : a.outcome ? 'bad' : 'pending';
  return html`<li class=${`attempt attempt-${kind}`}>
    <div class="attempt-head">
      <strong>Attempt ${a.attempt}</strong>
      ${a.outcome ? html`<${StatusBadge} status=${a.outcome} />` : html`<${StatusBadge} status="in flight" />`}
      ${a.delivery_status && html`<span class="sub">delivery ${a.delivery_status}</span>`}
    </div>
    <dl class="attempt-facts">
      <dt>Started</dt><dd>${fmtTime(a.started_at)}</dd>
      <dt>Response</dt><dd>${a.response_status ?? 'none'}</dd>
      <dt>Latency</dt><dd>${fmtMs(a.duration_ms)}</dd>
      ${a.error_class && html`<dt>Error</dt><dd><code>${a.error_class}</code>${a.error_message ? ` — ${a.error_message}` : ''}</dd>`}
    </dl>
    ${a.response_excerpt && html`<details><summary>Response excerpt</summary><pre class="code">${a.response_excerpt}</pre></details>`}
  </li>`;
}

export function DeliveryPage({ session, id }) {
  const { data: d, error, reload } = useLoad(() => api('GET', `/deliveries/${id}`), [id]);
  const [actionError, setActionError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [busy, setBusy] = useState(false);

  // Until the delivery is finished, look again now and then.
  useEffect(() => {
    if (!d || FINISHED.has(d.status)) return undefined;
    const timer = setTimeout(reload, 2000);
    return () => clearTimeout(timer);
  }, [d]);

  const act = (path, done) => async () => {
    setActionError(null);
    setNotice(null);
    setBusy(true);
    try {
      await api('POST', `/deliveries/${id}/${path}`, path === 'cancel' ? {} : undefined);
      setNotice(done);
      setTimeout(reload, 800);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  if (error) return html`<h1>Delivery</h1><${ErrorBox} error=${error} />`;
  if (!d) return html`<h1>Delivery</h1><p class="loading">Loading…</p>`;
  const canWrite = session.scopes.includes('deliveries:write');
  return html`
    <p class="crumbs"><a href="#/endpoints">Endpoints</a> › <a href=${`#/endpoints/${d.endpoint_id}/deliveries`}>${d.endpoint_id}</a> ›</p>
    <div class="title-row"><h1>Delivery ${d.id}</h1><${StatusBadge} status=${d.status} /></div>
    <dl class="details">
      <dt>Event</dt><dd><code>${d.event_type}</code> (${d.event_id})</dd>
      <dt>Created</dt><dd>${fmtTime(d.created_at)}</dd>
      ${d.sequence !== null && html`<dt>FIFO position</dt><dd>${d.sequence}</dd>`}
      ${d.reason && html`<dt>Why it ended</dt><dd>${d.reason}</dd>`}
      ${d.next_attempt_at && html`<dt>Next attempt</dt><dd>${fmtTime(d.next_attempt_at)}</dd>`}
    </dl>
    <${ErrorBox} error=${actionError} />
    ${notice && html`<${Notice} kind="success">${notice}<//>`}
    ${canWrite && html`<div class="actions">
      ${['failed', 'cancelled', 'terminated'].includes(d.status) && html`<button type="button" onClick=${act('redeliver', 'Redelivery started: new attempts will appear below.')} disabled=${busy}>Redeliver</button>`}
      ${['pending', 'retrying', 'scheduled'].includes(d.status) && html`<button type="button" class="secondary" onClick=${act('cancel', 'Cancel requested: no further attempts will be made.')} disabled=${busy}>Cancel delivery</button>`}
    </div>`}
    <h2>Attempts</h2>
    ${d.attempts.length === 0 ? html`<p class="empty">No attempt yet.</p>` : html`<ol class="timeline" aria-label="Attempts, oldest first">${d.attempts.map((a) => html`<${Attempt} a=${a} />`)}</ol>`}
  `;
}
