import { html, useState } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { ErrorBox, fmtTime, go, Notice, StatusBadge, useLoad } from '../ui.js';
import { RotateSecret, SecretShown, takeSecret } from './secret.js';
import { DeliveryLog } from './delivery-log.js';
import { EndpointStats } from './endpoint-stats.js';
import { TestEvent } from './test-event.js';

const TABS = [
  ['overview', 'Overview'],
  ['deliveries', 'Deliveries'],
  ['stats', 'Statistics'],
];

function Details({ e }) {
  const headers = Object.entries(e.headers || {});
  return html`<dl class="details">
    <dt>URL</dt><dd><code>${e.url}</code></dd>
    ${e.description && html`<dt>Description</dt><dd>${e.description}</dd>`}
    <dt>Event types</dt><dd>${e.events.map((t) => html`<code class="tag">${t}</code> `)}</dd>
    <dt>Signature scheme</dt><dd>${e.scheme}</dd>
    <dt>Ordering</dt><dd>${e.ordering === 'fifo' ? `FIFO (${e.on_exhausted === 'block' ? 'blocks on a failed delivery' : 'skips a failed delivery'})` : 'unordered'}${e.fifo?.blocked_on && html` — <strong>blocked on <a href=${`#/deliveries/${e.fifo.blocked_on}`}>${e.fifo.blocked_on}</a></strong>`}</dd>
    <dt>Rate limit</dt><dd>${e.rate_limit ? `${e.rate_limit} requests per second` : 'none'}</dd>
    <dt>Filters</dt><dd>${e.filters && Object.keys(e.filters).length > 0 ? html`<pre class="code">${JSON.stringify(e.filters, null, 2)}</pre>` : 'none: every event of these types'}</dd>
    <dt>Custom headers</dt><dd>${headers.length === 0 ? 'none' : headers.map(([n, v]) => html`<div><code>${n}</code>: ${typeof v === 'string' ? v : v.sensitive ? html`<em>secret, not shown</em>` : v.value}</div>`)}</dd>
    <dt>Created</dt><dd>${fmtTime(e.created_at)}</dd>
    <dt>Last event</dt><dd>${fmtTime(e.last_triggered)}</dd>
    ${e.failing_since && html`<dt>Failing since</dt><dd>${fmtTime(e.failing_since)}</dd>`}
    ${e.disabled_reason && html`<dt>Disabled because</dt><dd>${e.disabled_reason}</dd>`}
  </dl>`;
}

function Counters({ s }) {
  if (!s) return null;
  const rate = s.success_rate === null || s.success_rate === undefined ? '—' : `${s.success_rate} %`;
  return html`<ul class="counters" aria-label="Delivery totals">
    <li><span class="n">${s.total_deliveries}</span> deliveries</li>
    <li><span class="n">${s.successful_deliveries}</span> succeeded</li>
    <li><span class="n">${s.failed_deliveries}</span> failed</li>
    <li><span class="n">${rate}</span> success rate</li>
    <li><span class="n">${s.avg_response_time === null ? '—' : `${s.avg_response_time} ms`}</span> average response</li>
  </ul>`;
}

function Overview({ e, session, reload }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [secret] = useState(() => takeSecret(e.id));
  const canWrite = session.scopes.includes('endpoints:write');

  const act = (fn) => async () => {
    setError(null);
    setBusy(true);
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const toggle = act(async () => {
    await api('PATCH', `/endpoints/${e.id}`, { is_active: !e.is_active });
    reload();
  });
  const remove = act(async () => {
    if (!confirm(`Delete the endpoint ${e.name || e.url}? It stops receiving events; its delivery history is kept.`)) return;
    await api('DELETE', `/endpoints/${e.id}`);
    go('/endpoints');
  });

  return html`
    ${secret && html`<${SecretShown} secret=${secret} title="Your endpoint's signing secret" />`}
    <${ErrorBox} error=${error} />
    <${Counters} s=${e.delivery_stats} />
    <${Details} e=${e} />
    ${canWrite && html`<section class="panel" aria-labelledby="manage-title">
      <h2 id="manage-title">Manage</h2>
      <div class="actions">
        <a class="button secondary" href=${`#/endpoints/${e.id}/edit`}>Edit</a>
        <button type="button" class="secondary" onClick=${toggle} disabled=${busy}>${e.is_active ? 'Disable' : 'Enable'}</button>
        <button type="button" class="danger" onClick=${remove} disabled=${busy}>Delete</button>
      </div>
    </section>`}
    ${canWrite && html`<${TestEvent} endpoint=${e} session=${session} />`}
    ${session.scopes.includes('keys:manage') && html`<${RotateSecret} endpoint=${e} session=${session} />`}
  `;
}

export function EndpointPage({ session, id, tab, query }) {
  const { data: e, error, reload } = useLoad(() => api('GET', `/endpoints/${id}`), [id]);
  if (error) return html`<h1>Endpoint</h1><${ErrorBox} error=${error} /><p><a href="#/endpoints">Back to your endpoints</a></p>`;
  if (!e) return html`<h1>Endpoint</h1><p class="loading">Loading…</p>`;
  return html`
    <p class="crumbs"><a href="#/endpoints">Endpoints</a> ›</p>
    <div class="title-row">
      <h1>${e.name || e.url}</h1>
      <${StatusBadge} status=${e.is_active ? (e.failing_since ? 'failing' : 'active') : 'disabled'} />
    </div>
    ${!e.is_active && html`<${Notice} kind="warning">This endpoint is disabled: it receives no new events${e.disabled_reason ? ` (${e.disabled_reason})` : ''}.<//>`}
    <nav class="tabs" aria-label="Endpoint">
      ${TABS.map(([key, label]) => html`<a href=${`#/endpoints/${id}${key === 'overview' ? '' : `/${key}`}`} aria-current=${tab === key ? 'page' : undefined}>${label}</a>`)}
    </nav>
    ${tab === 'overview' && html`<${Overview} e=${e} session=${session} reload=${reload} />`}
    ${tab === 'deliveries' && html`<${DeliveryLog} endpoint=${e} query=${query} />`}
    ${tab === 'stats' && html`<${EndpointStats} endpoint=${e} query=${query} />`}
  `;
}
