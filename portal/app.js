import { html, render, useEffect, useState } from '/portal/vendor/preact-htm.js';
import { endSession, loadSession, sessionLost } from './api.js';
import { currentRoute, fmtTime } from './ui.js';
import { EndpointList } from './views/endpoint-list.js';
import { EndpointForm } from './views/endpoint-form.js';
import { EndpointPage } from './views/endpoint-page.js';
import { DeliveryPage } from './views/delivery-page.js';
import { Catalog } from './views/catalog.js';
import { LiveFeed } from './views/live-feed.js';

function useRoute() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function Page({ route, session }) {
  const [first, id, tab] = route.parts;
  if (first === 'endpoints' && id === 'new') return html`<${EndpointForm} session=${session} />`;
  if (first === 'endpoints' && id && tab === 'edit') return html`<${EndpointForm} session=${session} id=${id} />`;
  if (first === 'endpoints' && id) return html`<${EndpointPage} session=${session} id=${id} tab=${tab || 'overview'} query=${route.query} />`;
  if (first === 'deliveries' && id) return html`<${DeliveryPage} session=${session} id=${id} />`;
  if (first === 'catalog') return html`<${Catalog} session=${session} />`;
  if (first === 'live') return html`<${LiveFeed} session=${session} query=${route.query} />`;
  if (first === 'endpoints' || !first) return html`<${EndpointList} session=${session} query=${route.query} />`;
  return html`<h1>Not found</h1><p>There is no page at <code>${location.hash}</code>. <a href="#/endpoints">Go to your endpoints</a>.</p>`;
}

const NAV = [
  ['endpoints', 'Endpoints'],
  ['catalog', 'Event catalog'],
  ['live', 'Live attempts'],
];

function Shell({ session }) {
  const route = useRoute();
  const section = route.parts[0] || 'endpoints';
  useEffect(() => {
    // Each view's heading takes the focus, so keyboard and screen-reader users start at the new page.
    const heading = document.querySelector('main h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  }, [route.parts.join('/')]);
  const signOut = async () => {
    try {
      await endSession();
    } finally {
      render(html`<${Ended} message="You have signed out of the portal." />`, document.getElementById('app'));
    }
  };
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
    <header class="top">
      <div class="brand">Webhooks portal <span class="tenant">${session.tenant_id}</span></div>
      <nav aria-label="Sections">
        <ul>
          ${NAV.map(([key, label]) => html`<li><a href=${`#/${key}`} aria-current=${section === key ? 'page' : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <div class="who">
        ${session.read_only && html`<span class="badge badge-readonly" title="This link lets you look, not change">Read-only</span>`}
        <span class="expiry">Session until ${fmtTime(session.expires_at)}</span>
        <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1"><${Page} route=${route} session=${session} /></main>
  `;
}

function Ended({ message }) {
  return html`<main class="status-page"><h1>Portal session ended</h1><p>${message}</p><p>Ask the service that sent you here for a new portal link.</p></main>`;
}

async function start() {
  const root = document.getElementById('app');
  sessionLost.addEventListener('lost', (e) => {
    render(html`<${Ended} message=${e.detail.message} />`, root);
  });
  let session;
  try {
    session = await loadSession();
  } catch (err) {
    render(html`<${Ended} message=${err.status === 401 ? 'You have no portal session, or it has expired.' : err.message} />`, root);
    return;
  }
  root.textContent = '';
  render(html`<${Shell} session=${session} />`, root);
}

start();
