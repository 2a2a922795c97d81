import { html, useEffect, useRef, useState } from '/portal/vendor/preact-htm.js';

/** Where the app is: `#/endpoints/ep_…/deliveries?status=failed` → path parts and query. */
export function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/endpoints';
  const [path, qs] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: Object.fromEntries(new URLSearchParams(qs || '')) };
}

export function go(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  location.hash = `#${path}${qs ? `?${qs}` : ''}`;
}

/** An error in words; field errors listed under it. Focused when it appears, so it is read out. */
export function ErrorBox({ error }) {
  const ref = useRef(null);
  useEffect(() => {
    if (error && ref.current) ref.current.focus();
  }, [error]);
  if (!error) return null;
  const details = Array.isArray(error.details) ? error.details : [];
  return html`<div class="error" role="alert" tabindex="-1" ref=${ref}>
    <strong>${error.message}</strong>
    ${details.length > 0 && html`<ul>${details.map((d) => html`<li><code>${d.path}</code>: ${d.message}</li>`)}</ul>`}
  </div>`;
}

export function Notice({ children, kind = 'info' }) {
  return html`<div class=${`notice notice-${kind}`} role="status">${children}</div>`;
}

/** Offset paging: previous / next and where we are. */
export function Pager({ offset, limit, total, onPage }) {
  if (total <= limit && offset === 0) return null;
  const last = Math.min(offset + limit, total);
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" disabled=${offset === 0} onClick=${() => onPage(Math.max(0, offset - limit))}>Previous</button>
    <span aria-live="polite">${total === 0 ? 'none' : `${offset + 1}–${last} of ${total}`}</span>
    <button type="button" disabled=${last >= total} onClick=${() => onPage(offset + limit)}>Next</button>
  </nav>`;
}

/** Cursor paging (the delivery log): next page, and back to the first. */
export function CursorPager({ cursor, next, onFirst, onNext }) {
  if (!cursor && !next) return null;
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" disabled=${!cursor} onClick=${onFirst}>First page</button>
    <button type="button" disabled=${!next} onClick=${() => onNext(next)}>Next page</button>
  </nav>`;
}

export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '—');
export const fmtMs = (ms) => (ms === null || ms === undefined ? '—' : `${ms} ms`);

export function StatusBadge({ status }) {
  return html`<span class=${`badge badge-${status}`}>${status}</span>`;
}

/** Copies text, saying so where a screen reader hears it. */
export function CopyButton({ text, label = 'Copy' }) {
  const ref = useRef(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      ref.current.textContent = 'Copied';
    } catch {
      ref.current.textContent = 'Select and copy it by hand';
    }
  };
  return html`<button type="button" class="secondary" ref=${ref} onClick=${copy} aria-live="polite">${label}</button>`;
}

/** Runs `load` on mount and whenever `deps` change; answers {data, error, loading, reload}. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const reload = () => {
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => setState({ data, error: null, loading: false }),
      (error) => setState({ data: null, error, loading: false }),
    );
  };
  useEffect(reload, deps);
  return { ...state, reload };
}
