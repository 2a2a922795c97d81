import { html, useState } from '/portal/vendor/preact-htm.js';
import { api } from '../api.js';
import { CopyButton, ErrorBox, Notice } from '../ui.js';

// A new endpoint's secret, kept in memory only until its page has shown it once.
let flashed = null;

export function flashSecret(endpointId, secret) {
  flashed = { endpointId, secret };
}

export function takeSecret(endpointId) {
  if (!flashed || flashed.endpointId !== endpointId) return null;
  const { secret } = flashed;
  flashed = null;
  return secret;
}

/** A secret shown once: copy it now. */
export function SecretShown({ secret, title }) {
  return html`<section class="secret" aria-labelledby="secret-title">
    <h2 id="secret-title">${title}</h2>
    <p>Copy it now and store it where your receiver can read it. <strong>It will not be shown again.</strong></p>
    <div class="secret-value"><code data-testid="secret">${secret}</code> <${CopyButton} text=${secret} label="Copy secret" /></div>
  </section>`;
}

const GRACE = [
  [3600, '1 hour'],
  [86400, '24 hours'],
  [604800, '7 days'],
  [0, 'no grace: stop signing with it now'],
];

/** Rotation: a new secret signs from now on; the old one keeps co-signing for the grace period. */
export function RotateSecret({ endpoint, session }) {
  const [grace, setGrace] = useState(86400);
  const [started, setStarted] = useState(null);
  const [secret, setSecret] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const canExport = session.scopes.includes('keys:export');

  const rotate = async () => {
    setError(null);
    setBusy(true);
    try {
      setStarted(await api('POST', `/endpoints/${endpoint.id}/secret/rotate`, { grace_seconds: grace }));
      setSecret(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // The new key is made inside the rotation workflow, a moment after the rotation starts.
  const reveal = async () => {
    setError(null);
    setBusy(true);
    try {
      for (let tries = 0; tries < 20; tries++) {
        const out = await api('POST', '/keys/export', { scope: { type: 'endpoint', id: endpoint.id }, confirm: `export ${endpoint.id}` });
        const key = out.keys.find((k) => k.id === started.new_key_id);
        if (key) {
          setSecret(key.secret);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      setError(new Error('The new secret is not ready yet. Try again in a few seconds.'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel" aria-labelledby="rotate-title">
    <h2 id="rotate-title">Signing secret</h2>
    <${ErrorBox} error=${error} />
    ${!started && html`
      <p>Rotate the secret when it may have leaked, or on a schedule of your own. Requests are signed with both secrets during the grace period, so your receiver can switch over without missing any.</p>
      <div class="inline-form">
        <label for="rotate-grace">Old secret stays valid for</label>
        <select id="rotate-grace" value=${grace} onChange=${(e) => setGrace(Number(e.target.value))}>
          ${GRACE.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>
        <button type="button" onClick=${rotate} disabled=${busy}>Rotate secret</button>
      </div>`}
    ${started && html`
      <${Notice} kind="success">Rotation started: new key <code>${started.new_key_id}</code>; the old secret is valid for ${GRACE.find(([v]) => v === started.grace_seconds)?.[1] ?? `${started.grace_seconds} s`} more.<//>
      ${secret ? html`<${SecretShown} secret=${secret} title="New signing secret" />`
        : canExport ? html`<button type="button" onClick=${reveal} disabled=${busy}>${busy ? 'Fetching…' : 'Show the new secret'}</button>`
        : html`<p>Ask your provider for the new secret: this portal link may not show secrets.</p>`}`}
  </section>`;
}
