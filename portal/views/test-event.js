import { html, useEffect, useState } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { ErrorBox, Notice } from '../ui.js';

/** Sends a test event to this endpoint alone, through the real pipeline: it shows up in the log and the live feed. */
export function TestEvent({ endpoint, session }) {
  const types = endpoint.events.filter((t) => t !== '*');
  const [type, setType] = useState(types[0] || 'webhook.test');
  const [payload, setPayload] = useState('{\n  "message": "test delivery"\n}');
  const [error, setError] = useState(null);
  const [sent, setSent] = useState(null);
  const [busy, setBusy] = useState(false);

  // The catalog's example payload for the chosen type, when the session may read the catalog.
  useEffect(() => {
    if (!session.scopes.includes('event-types:read') || type === 'webhook.test') return;
    api('GET', `/event-types/${encodeURIComponent(type)}`).then(
      (t) => t.example_payload && setPayload(JSON.stringify(t.example_payload, null, 2)),
      () => undefined,
    );
  }, [type]);

  const send = async (e) => {
    e.preventDefault();
    setError(null);
    setSent(null);
    let parsed;
    try {
      parsed = JSON.parse(payload);
    } catch {
      setError(new Error('The payload is not valid JSON.'));
      return;
    }
    setBusy(true);
    try {
      setSent(await api('POST', `/endpoints/${endpoint.id}/test-event`, { event: type, payload: parsed }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel" aria-labelledby="test-title">
    <h2 id="test-title">Send a test event</h2>
    <form onSubmit=${send}>
      <${ErrorBox} error=${error} />
      <div class="field">
        <label for="test-type">Event type</label>
        <select id="test-type" value=${type} onChange=${(e) => setType(e.target.value)}>
          ${[...types, 'webhook.test'].map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="test-payload">Payload (JSON)</label>
        <textarea id="test-payload" class="code" rows="5" value=${payload} onInput=${(e) => setPayload(e.target.value)}></textarea>
      </div>
      <button type="submit" disabled=${busy || !endpoint.is_active}>${busy ? 'Sending…' : 'Send test event'}</button>
      ${!endpoint.is_active && html`<p class="help">Enable the endpoint to send it a test event.</p>`}
    </form>
    ${sent && html`<${Notice} kind="success">Test event sent: delivery <a href=${`#/deliveries/${sent.delivery_id}`}>${sent.delivery_id}</a>. Watch it in <a href=${`#/live?endpoint_id=${endpoint.id}`}>live attempts</a>.<//>`}
  </section>`;
}
