import { html } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { ErrorBox, useLoad } from '../ui.js';

export function Catalog({ session }) {
  if (!session.scopes.includes('event-types:read')) return html`<h1>Event catalog</h1><p>This portal link does not include the event catalog.</p>`;
  const { data, error, loading } = useLoad(() => api('GET', '/event-types', undefined, { include_deprecated: 'true' }), []);
  return html`
    <h1>Event catalog</h1>
    <p>The event types you can subscribe an endpoint to, with the JSON Schema of their payload and an example.</p>
    <${ErrorBox} error=${error} />
    ${loading && !data && html`<p class="loading">Loading the catalog…</p>`}
    ${data && data.total === 0 && html`<p class="empty">The catalog is empty: any event type may be sent.</p>`}
    ${data && data.categories.map((c) => html`
      <section class="category" aria-labelledby=${`cat-${c.category}`}>
        <h2 id=${`cat-${c.category}`}>${c.category} <span class="sub">(${c.count})</span></h2>
        ${c.event_types.map((t) => html`
          <article class="event-type">
            <h3><code>${t.name}</code>${t.version && html` <span class="sub">v${t.version}</span>`}${t.deprecated && html` <span class="badge badge-disabled">deprecated</span>`}</h3>
            ${t.description && html`<p>${t.description}</p>`}
            <details>
              <summary>Payload schema</summary>
              ${t.payload_schema ? html`<pre class="code">${JSON.stringify(t.payload_schema, null, 2)}</pre>` : html`<p>No schema: any JSON payload.</p>`}
            </details>
            <details>
              <summary>Example payload</summary>
              ${t.example_payload !== null && t.example_payload !== undefined ? html`<pre class="code">${JSON.stringify(t.example_payload, null, 2)}</pre>` : html`<p>No example given.</p>`}
            </details>
          </article>`)}
      </section>`)}
  `;
}
