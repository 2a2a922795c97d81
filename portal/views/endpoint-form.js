import { html, useEffect, useState } from '/portal/vendor/preact-htm.js';
import { api, ApiError } from '../api.js';
import { ErrorBox, go, useLoad } from '../ui.js';
import { flashSecret } from './secret.js';

const SCHEMES = [
  ['x-signature', 'x-signature (HMAC-SHA512 with timestamp and nonce)'],
  ['standard-webhooks', 'Standard Webhooks (webhook-signature v1)'],
  ['sha256', 'sha256 (X-Webhook-Signature over the body)'],
];

/** The endpoint's stored headers as editable rows; a sensitive value is never sent back to us. */
const headerRows = (headers) =>
  Object.entries(headers || {}).map(([name, v]) =>
    typeof v === 'string' ? { name, value: v, sensitive: false, kept: false }
      : v.sensitive ? { name, value: '', sensitive: true, kept: true }
      : { name, value: v.value ?? '', sensitive: false, kept: false });

function headersOut(rows) {
  const out = {};
  for (const row of rows) {
    const name = row.name.trim();
    if (!name) continue;
    if (row.sensitive) out[name] = row.value === '' && row.kept ? { sensitive: true } : { value: row.value, sensitive: true };
    else out[name] = row.value;
  }
  return out;
}

function emptyForm() {
  return { url: '', name: '', description: '', events: [], otherEvents: '', filters: '', headers: [], rate_limit: '', scheme: 'x-signature', ordering: 'unordered', on_exhausted: 'skip' };
}

function formFrom(e, known) {
  const listed = e.events.filter((t) => t === '*' || known.has(t));
  return {
    url: e.url,
    name: e.name || '',
    description: e.description || '',
    events: listed,
    otherEvents: e.events.filter((t) => t !== '*' && !known.has(t)).join(', '),
    filters: e.filters && Object.keys(e.filters).length > 0 ? JSON.stringify(e.filters, null, 2) : '',
    headers: headerRows(e.headers),
    rate_limit: e.rate_limit === null || e.rate_limit === undefined ? '' : String(e.rate_limit),
    scheme: e.scheme,
    ordering: e.ordering || 'unordered',
    on_exhausted: e.on_exhausted || 'skip',
  };
}

/** The form as the API's endpoint fields; mistakes the browser can see are reported as field errors. */
function bodyFrom(form, editing) {
  const problems = [];
  const events = [...new Set([...form.events, ...form.otherEvents.split(',').map((s) => s.trim()).filter(Boolean)])];
  if (events.length === 0) problems.push({ path: 'events', message: 'pick at least one event type (or all of them)' });
  let filters = null;
  if (form.filters.trim() !== '') {
    try {
      filters = JSON.parse(form.filters);
      if (!filters || typeof filters !== 'object' || Array.isArray(filters)) throw new Error('not an object');
    } catch {
      problems.push({ path: 'filters', message: 'must be a JSON object, e.g. {"order_status": ["confirmed"]}' });
    }
  }
  const rate = form.rate_limit.trim() === '' ? null : Number(form.rate_limit);
  if (rate !== null && !(Number.isInteger(rate) && rate >= 1 && rate <= 10000)) problems.push({ path: 'rate_limit', message: 'a whole number of requests per second, 1 to 10000, or empty for no limit' });
  if (problems.length > 0) throw new ApiError(422, 'validation_failed', 'Some fields need a fix before saving:', problems);
  const body = {
    url: form.url.trim(),
    events,
    headers: headersOut(form.headers),
    scheme: form.scheme,
    ordering: form.ordering,
    on_exhausted: form.on_exhausted,
  };
  if (editing) {
    body.name = form.name.trim() || null;
    body.description = form.description.trim() || null;
    body.filters = filters;
    body.rate_limit = rate;
  } else {
    if (form.name.trim()) body.name = form.name.trim();
    if (form.description.trim()) body.description = form.description.trim();
    if (filters) body.filters = filters;
    if (rate !== null) body.rate_limit = rate;
  }
  return body;
}

export function EndpointForm({ session, id }) {
  const editing = Boolean(id);
  const canReadCatalog = session.scopes.includes('event-types:read');
  const catalog = useLoad(() => (canReadCatalog ? api('GET', '/event-types', undefined, { include_deprecated: 'false' }) : Promise.resolve({ categories: [] })), []);
  const existing = useLoad(() => (editing ? api('GET', `/endpoints/${id}`) : Promise.resolve(null)), [id]);
  const [form, setForm] = useState(editing ? null : emptyForm());
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const types = (catalog.data?.categories || []).flatMap((c) => c.event_types);

  useEffect(() => {
    if (editing && existing.data && catalog.data) setForm(formFrom(existing.data, new Set(types.map((t) => t.name))));
  }, [existing.data, catalog.data]);

  if (!session.scopes.includes('endpoints:write')) return html`<h1>${editing ? 'Edit endpoint' : 'New endpoint'}</h1><p>This portal link lets you look, not change endpoints.</p>`;
  if (existing.error) return html`<h1>Edit endpoint</h1><${ErrorBox} error=${existing.error} />`;
  if (!form) return html`<h1>Edit endpoint</h1><p class="loading">Loading…</p>`;

  const set = (field) => (e) => setForm({ ...form, [field]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const toggleEvent = (name) => (e) => setForm({ ...form, events: e.target.checked ? [...form.events, name] : form.events.filter((t) => t !== name) });
  const setHeader = (i, field) => (e) => setForm({ ...form, headers: form.headers.map((h, j) => (j === i ? { ...h, [field]: e.target.type === 'checkbox' ? e.target.checked : e.target.value, kept: field === 'value' ? false : h.kept } : h)) });

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setSaving(true);
    try {
      const body = bodyFrom(form, editing);
      if (editing) {
        await api('PATCH', `/endpoints/${id}`, body);
        go(`/endpoints/${id}`);
      } else {
        const created = await api('POST', '/endpoints', body);
        flashSecret(created.id, created.secret);
        go(`/endpoints/${created.id}`);
      }
    } catch (err) {
      setError(err);
      setSaving(false);
    }
  };

  return html`
    <h1>${editing ? 'Edit endpoint' : 'New endpoint'}</h1>
    <form class="endpoint-form" onSubmit=${submit} novalidate>
      <${ErrorBox} error=${error} />
      <div class="field">
        <label for="ep-url">URL <span class="req">(required)</span></label>
        <input id="ep-url" type="url" required value=${form.url} onInput=${set('url')} placeholder="https://example.com/webhooks" aria-describedby="ep-url-help" />
        <p class="help" id="ep-url-help">Where each event is sent as a signed POST.</p>
      </div>
      <div class="field">
        <label for="ep-name">Name</label>
        <input id="ep-name" value=${form.name} onInput=${set('name')} maxlength="128" />
      </div>
      <div class="field">
        <label for="ep-description">Description</label>
        <textarea id="ep-description" rows="2" value=${form.description} onInput=${set('description')} maxlength="1024"></textarea>
      </div>
      <fieldset class="field">
        <legend>Event types</legend>
        <label class="check"><input type="checkbox" checked=${form.events.includes('*')} onChange=${toggleEvent('*')} /> All event types (<code>*</code>)</label>
        ${catalog.error && html`<p class="help">The catalog could not be loaded (${catalog.error.message}); type event types below.</p>`}
        <div class="choices">
          ${types.map((t) => html`<label class="check"><input type="checkbox" checked=${form.events.includes(t.name)} onChange=${toggleEvent(t.name)} /> <code>${t.name}</code>${t.description && html` <span class="sub">${t.description}</span>`}</label>`)}
        </div>
        <label for="ep-other-events">Other event types (comma-separated)</label>
        <input id="ep-other-events" value=${form.otherEvents} onInput=${set('otherEvents')} placeholder="order.created, invoice.paid" />
      </fieldset>
      <div class="field">
        <label for="ep-filters">Filters (JSON)</label>
        <textarea id="ep-filters" class="code" rows="4" value=${form.filters} onInput=${set('filters')} aria-describedby="ep-filters-help" placeholder='{"order_status": ["confirmed"], "total": {"gte": 100}}'></textarea>
        <p class="help" id="ep-filters-help">Only events whose payload matches every condition are sent. Leave empty to receive them all.</p>
      </div>
      <fieldset class="field">
        <legend>Custom headers</legend>
        ${form.headers.length === 0 && html`<p class="help">None. Headers added here go with every request.</p>`}
        ${form.headers.map((h, i) => html`
          <div class="header-row">
            <label>Name <input value=${h.name} onInput=${setHeader(i, 'name')} /></label>
            <label>Value <input value=${h.value} type=${h.sensitive ? 'password' : 'text'} onInput=${setHeader(i, 'value')} placeholder=${h.kept ? '(stored, unchanged)' : ''} /></label>
            <label class="check"><input type="checkbox" checked=${h.sensitive} onChange=${setHeader(i, 'sensitive')} /> Secret</label>
            <button type="button" class="secondary" onClick=${() => setForm({ ...form, headers: form.headers.filter((_, j) => j !== i) })} aria-label=${`Remove header ${h.name || i + 1}`}>Remove</button>
          </div>`)}
        <button type="button" class="secondary" onClick=${() => setForm({ ...form, headers: [...form.headers, { name: '', value: '', sensitive: false, kept: false }] })}>Add a header</button>
      </fieldset>
      <div class="field-row">
        <div class="field">
          <label for="ep-rate">Rate limit (requests per second)</label>
          <input id="ep-rate" type="number" min="1" max="10000" inputmode="numeric" value=${form.rate_limit} onInput=${set('rate_limit')} placeholder="no limit" />
        </div>
        <div class="field">
          <label for="ep-scheme">Signature scheme</label>
          <select id="ep-scheme" value=${form.scheme} onChange=${set('scheme')}>
            ${SCHEMES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
          </select>
        </div>
      </div>
      <div class="field-row">
        <div class="field">
          <label for="ep-ordering">Ordering</label>
          <select id="ep-ordering" value=${form.ordering} onChange=${set('ordering')} aria-describedby="ep-ordering-help">
            <option value="unordered">Unordered: deliver each event as soon as possible</option>
            <option value="fifo">FIFO: in order, one at a time</option>
          </select>
          <p class="help" id="ep-ordering-help">FIFO holds later events until the one before is delivered.</p>
        </div>
        ${form.ordering === 'fifo' && html`
          <div class="field">
            <label for="ep-exhausted">When a FIFO delivery fails for good</label>
            <select id="ep-exhausted" value=${form.on_exhausted} onChange=${set('on_exhausted')}>
              <option value="skip">Skip it and go on</option>
              <option value="block">Block the line until it is redelivered or skipped</option>
            </select>
          </div>`}
      </div>
      <div class="actions">
        <button type="submit" disabled=${saving}>${saving ? 'Saving…' : editing ? 'Save changes' : 'Create endpoint'}</button>
        <a class="button secondary" href=${editing ? `#/endpoints/${id}` : '#/endpoints'}>Cancel</a>
      </div>
    </form>
  `;
}
