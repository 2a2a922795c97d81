// The portal's one way to the service: the same JSON API as /api/v1, under /portal/api/v1,
// authenticated by the session cookie; writes carry the session's CSRF token.

let csrf = '';

/** An error answer of the API, in words. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

/** Fired when the session is gone (expired, ended): the app shows how to get back in. */
export const sessionLost = new EventTarget();

async function request(method, url, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-portal-csrf'] = csrf;
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'The service could not be reached. Check your connection and try again.');
  }
  let payload = null;
  try {
    payload = await res.json();
  } catch {
    // not JSON: described below
  }
  if (res.ok && payload && payload.ok) return payload.data;
  const error = new ApiError(
    res.status,
    payload?.err || 'http_' + res.status,
    payload?.msg || `The service answered ${res.status} ${res.statusText || ''}`.trim(),
    payload?.details,
  );
  if (res.status === 401) sessionLost.dispatchEvent(new CustomEvent('lost', { detail: error }));
  throw error;
}

/** Calls `/portal/api/v1{path}`; `query` values that are empty are left out. */
export function api(method, path, body, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return request(method, `/portal/api/v1${path}${qs ? `?${qs}` : ''}`, body);
}

/** The session: tenant, scopes, read-only, expiry, and the CSRF token kept for writes. */
export async function loadSession() {
  const session = await request('GET', '/portal/api/session');
  csrf = session.csrf_token;
  return session;
}

export function endSession() {
  return request('POST', '/portal/api/session/end');
}
