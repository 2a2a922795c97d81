import type { SecretBox } from './secret-box';

/**
 * Endpoint URLs that carry a secret: whoever has the URL can post to the receiver (Slack and
 * Discord incoming webhooks, Zapier catch hooks, `?token=…` query strings, long random path
 * segments). Such a URL is sealed at rest like a sensitive header; what is stored in `url`, shown
 * in responses, lists, audit entries and logs is its masked form. Deliveries open the real URL
 * inside the activity that sends, so it never enters workflow history either.
 */

/** What a secret part of a URL is replaced with. */
export const MASK = '****';

/** Query parameter names whose values are credentials. */
const SECRET_PARAM = /token|key|secret|sig|signature|auth|passw|pwd|credential|code|hash|hmac|session/i;

/** Hosts whose webhook URLs are secrets after a fixed path prefix. */
const PROVIDERS: Array<{ host: RegExp; after: RegExp }> = [
  { host: /^hooks\.slack\.com$/i, after: /^services$|^workflows$|^triggers$/ },
  { host: /^(discord|discordapp)\.com$/i, after: /^webhooks$/ },
  { host: /^hooks\.zapier\.com$/i, after: /^catch$/ },
  { host: /(^|\.)webhook\.office\.com$/i, after: /^webhookb2$|^IncomingWebhook$/i },
  { host: /^maker\.ifttt\.com$/i, after: /^key$/ },
];

/** Percent-decoding that never throws (a malformed escape stays as it is). */
function decoded(text: string, decode: (t: string) => string): string {
  try {
    return decode(text);
  } catch {
    return text;
  }
}

/** A path segment or query value that looks generated: long, of token characters, letters and digits mixed. */
function looksSecret(value: string): boolean {
  return value.length >= 20 && /^[A-Za-z0-9_\-=.~+%]+$/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value);
}

/**
 * The URL with its secret parts masked, and whether it had any. `force` (an endpoint that marks
 * its URL sensitive) masks every path segment and query value when none looks secret.
 */
export function maskUrl(raw: string, force = false): { masked: string; secret: boolean } {
  const url = new URL(raw);
  let secret = url.username !== '' || url.password !== '';
  if (secret) {
    url.username = MASK;
    url.password = '';
  }
  const segments = url.pathname.split('/');
  const provider = PROVIDERS.find((p) => p.host.test(url.hostname));
  const from = provider ? segments.findIndex((s) => provider.after.test(s)) : -1;
  const maskedSegments = segments.map((segment, i) => {
    if (segment === '' || !((from >= 0 && i > from) || looksSecret(decoded(segment, decodeURIComponent)))) return segment;
    secret = true;
    return MASK;
  });
  const params = [...url.searchParams.entries()].map(([name, value]) => {
    if (value === '' || !(SECRET_PARAM.test(name) || looksSecret(value))) return [name, value] as const;
    secret = true;
    return [name, MASK] as const;
  });
  if (!secret && force) {
    for (let i = 0; i < maskedSegments.length; i++) if (maskedSegments[i] !== '') maskedSegments[i] = MASK;
    params.forEach((p, i) => (params[i] = [p[0], MASK]));
    secret = true;
  }
  url.pathname = maskedSegments.join('/');
  url.search = params.length > 0 ? `?${params.map(([n, v]) => `${encodeURIComponent(n)}=${v === MASK ? MASK : encodeURIComponent(v)}`).join('&')}` : '';
  url.hash = '';
  return { masked: decoded(url.toString(), decodeURI).replace(/%2A/g, '*'), secret };
}

const context = (endpointId: string) => `url:${endpointId}`;

/** How an endpoint's URL is stored: in clear, or masked with the real one sealed. */
export interface StoredUrl {
  url: string;
  url_sealed: string | null;
}

/** Stores a URL as given: sealed (and masked in `url`) when it carries a secret or `sensitive` says so. */
export function sealUrl(box: SecretBox, endpointId: string, url: string, sensitive = false): StoredUrl {
  const { masked, secret } = maskUrl(url, sensitive);
  return secret ? { url: masked, url_sealed: box.seal(url, context(endpointId)) } : { url, url_sealed: null };
}

/** The URL to send to (inside activities and the test send only). */
export function openUrl(box: SecretBox, endpointId: string, stored: StoredUrl): string {
  return stored.url_sealed ? box.open(stored.url_sealed, context(endpointId)) : stored.url;
}

/** The stored URL re-sealed under the current master key (key rotation); as is when in clear. */
export function resealUrl(box: SecretBox, endpointId: string, stored: StoredUrl): StoredUrl {
  return stored.url_sealed ? { url: stored.url, url_sealed: box.reseal(stored.url_sealed, context(endpointId)) } : stored;
}

/**
 * Text with the real URL's secret parts replaced by the masked URL (an error message or a
 * receiver's answer that quotes the request), so the delivery log never shows them.
 */
export function scrubUrl(text: string, realUrl: string, maskedUrl: string): string {
  if (!text) return text;
  let out = text.split(realUrl).join(maskedUrl);
  const real = new URL(realUrl);
  for (const part of [...real.pathname.split('/'), ...real.searchParams.values()]) {
    if (part.length >= 6 && (looksSecret(part) || !maskedUrl.includes(part))) out = out.split(part).join(MASK);
  }
  return out;
}
