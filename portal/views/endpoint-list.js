import { html } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { ErrorBox, go, Pager, StatusBadge, useLoad } from '../ui.js';

const PAGE = 20;

export function EndpointList({ session, query }) {
  const offset = Number(query.offset || 0);
  const status = query.status || '';
  const { data, error, loading } = useLoad(() => api('GET', '/endpoints', undefined, { limit: PAGE, offset, status }), [offset, status]);
  const canWrite = session.scopes.includes('endpoints:write');
  return html`
    <div class="title-row">
      <h1>Endpoints</h1>
      ${canWrite && html`<a class="button" href="#/endpoints/new">New endpoint</a>`}
    </div>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Show
        <select value=${status} onChange=${(e) => go('/endpoints', { status: e.target.value })}>
          <option value="">all endpoints</option>
          <option value="active">active only</option>
          <option value="inactive">disabled only</option>
        </select>
      </label>
    </form>
    <${ErrorBox} error=${error} />
    ${loading && !data && html`<p class="loading">Loading endpoints…</p>`}
    ${data && data.items.length === 0 && html`<p class="empty">No endpoints yet.${canWrite ? ' Create one to start receiving events.' : ''}</p>`}
    ${data && data.items.length > 0 && html`
      <table class="list">
        <caption class="sr-only">Your endpoints</caption>
        <thead><tr><th scope="col">Endpoint</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Success rate</th></tr></thead>
        <tbody>
          ${data.items.map((e) => html`
            <tr>
              <td data-label="Endpoint"><a href=${`#/endpoints/${e.id}`}>${e.name || e.url}</a>${e.name && html`<div class="sub">${e.url}</div>`}</td>
              <td data-label="Events">${e.events.join(', ')}</td>
              <td data-label="Status"><${StatusBadge} status=${e.is_active ? (e.failing_since ? 'failing' : 'active') : 'disabled'} /></td>
              <td data-label="Success rate">${e.success_rate === null || e.success_rate === undefined ? '—' : `${e.success_rate} %`}</td>
            </tr>`)}
        </tbody>
      </table>
      <${Pager} offset=${data.offset ?? offset} limit=${PAGE} total=${data.total} onPage=${(o) => go('/endpoints', { status, offset: o })} />`}
  `;
}
