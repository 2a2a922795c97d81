import { html, useEffect, useState } from '/portal/vendor/preact-htm.js';
import { fmtMs, go, StatusBadge, useLoad } from '../ui.js';
import { api } from '../api.js';

const KEEP = 200;

/** Attempts as they are recorded, over the API's Server-Sent Events stream (the session cookie goes along). */
export function LiveFeed({ query }) {
  const endpointId = query.endpoint_id || '';
  const [rows, setRows] = useState([]);
  const [state, setState] = useState('connecting');
  const endpoints = useLoad(() => api('GET', '/endpoints', undefined, { limit: 200 }), []);

  useEffect(() => {
    setRows([]);
    const qs = endpointId ? `?endpoint_id=${encodeURIComponent(endpointId)}` : '';
    const stream = new EventSource(`/portal/api/v1/events/stream${qs}`);
    stream.onopen = () => setState('open');
    stream.onerror = () => setState(stream.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    stream.addEventListener('attempt', (e) => {
      const row = JSON.parse(e.data);
      setRows((old) => [{ ...row, id: e.lastEventId }, ...old].slice(0, KEEP));
    });
    return () => stream.close();
  }, [endpointId]);

  const words = { connecting: 'Connecting…', open: 'Live: new attempts appear at the top.', reconnecting: 'Connection lost; reconnecting…', closed: 'The stream has closed. Reload the page to reconnect (your session may have ended).' };
  return html`
    <h1>Live attempts</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Endpoint
        <select value=${endpointId} onChange=${(e) => go('/live', { endpoint_id: e.target.value })}>
          <option value="">all endpoints</option>
          ${(endpoints.data?.items || []).map((ep) => html`<option value=${ep.id}>${ep.name || ep.url}</option>`)}
        </select>
      </label>
    </form>
    <p class=${`stream-state stream-${state}`} role="status">${words[state]}</p>
    ${rows.length === 0 ? html`<p class="empty">No attempts since you opened this page.</p>` : html`
      <table class="list live">
        <caption class="sr-only">Attempts, newest first</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Delivery</th><th scope="col">Attempt</th><th scope="col">Outcome</th><th scope="col">Response</th><th scope="col">Latency</th></tr></thead>
        <tbody aria-live="polite">
          ${rows.map((r) => html`<tr key=${r.id}>
            <td data-label="Time">${new Date(r.started_at).toLocaleTimeString()}</td>
            <td data-label="Delivery"><a href=${`#/deliveries/${r.delivery_id}`}>${r.delivery_id}</a></td>
            <td data-label="Attempt">${r.attempt}</td>
            <td data-label="Outcome"><${StatusBadge} status=${r.outcome} />${r.error_class && html` <code>${r.error_class}</code>`}</td>
            <td data-label="Response">${r.response_status ?? 'none'}</td>
            <td data-label="Latency">${fmtMs(r.duration_ms)}</td>
          </tr>`)}
        </tbody>
      </table>`}
  `;
}
