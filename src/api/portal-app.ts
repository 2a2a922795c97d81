import path from 'node:path';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { PROJECT_ROOT } from '../config';
import { endPortalSession } from '../db/portal-sessions-repo';
import { AppError, UnauthorizedError } from '../errors';
import type { AppDeps } from '../services/deps';
import { CSRF_HEADER, csrfMatches, csrfToken, openLink, PORTAL_COOKIE, portalSessionCaller } from '../services/portal-sessions';
import type { PortalSessionRecord } from '../db/portal-sessions-repo';
import { admitTenant } from './auth';

/** The portal's browser code: plain ES modules and CSS, served as they are (no build step). */
const PORTAL_DIR = path.join(PROJECT_ROOT, 'portal');
/** A package's folder, found from its main entry (htm's exports map hides its package.json). */
const packageRoot = (name: string, entryDepth: number) => path.resolve(path.dirname(require.resolve(name)), ...Array<string>(entryDepth).fill('..'));
const HTM = packageRoot('htm', 1);
const UPLOT = packageRoot('uplot', 1);
/** Third-party browser modules, served from node_modules under fixed names (no CDN). */
const VENDOR_FILES: Record<string, string> = {
  'preact-htm.js': path.join(HTM, 'preact', 'standalone.module.js'),
  'uplot.js': path.join(UPLOT, 'dist', 'uPlot.esm.js'),
  'uplot.css': path.join(UPLOT, 'dist', 'uPlot.min.css'),
};

/** Everything under /portal: own scripts and styles only, no inline code, no framing unless configured. */
function securityHeaders(frameAncestors: string | undefined): RequestHandler {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors ?? "'none'"}`,
  ].join('; ');
  return (_req, res, next) => {
    res.setHeader('content-security-policy', csp);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    if (!frameAncestors) res.setHeader('x-frame-options', 'DENY');
    next();
  };
}

function sessionCookie(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === PORTAL_COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * The request log's view of a request, without a portal link's code: the log line is bound when
 * the request starts, before the code is used up.
 */
export function withoutLinkCode<R extends { url?: string; query?: Record<string, unknown> }>(req: R): R {
  if (!req.url?.startsWith('/portal/open')) return req;
  return { ...req, url: req.url.replace(/([?&]code=)[^&]*/g, '$1[redacted]'), query: req.query && { ...req.query, code: '[redacted]' } };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page of its own for the link outcome: readable without the app's scripts. */
function statusPage(res: Response, status: number, title: string, message: string, extraHead = ''): void {
  res
    .status(status)
    .type('html')
    .setHeader('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/portal/assets/style.css">${extraHead}</head>` +
        `<body><main class="status-page"><h1>${escapeHtml(title)}</h1><p>${message}</p></main></body></html>`,
    );
}

const REFUSALS = {
  used: 'This portal link has already been used. Each link opens one session; ask the service that sent it for a new one.',
  expired: 'This portal link has expired. Ask the service that sent it for a new one.',
  unknown: 'This is not a valid portal link. Check that the whole link was copied, or ask for a new one.',
} as const;

/** The session behind the cookie, as the request's caller; writes must carry the CSRF header. */
function portalAuthenticate(deps: AppDeps): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = sessionCookie(req);
      if (!token) throw new UnauthorizedError('no portal session: open a portal link first');
      const found = await portalSessionCaller(deps.db, token, String(req.id ?? ''));
      if (!found) throw new AppError(401, 'session_expired', 'the portal session has expired or ended: open a new portal link');
      if (!admitTenant(found.caller, found.tenantState)) throw new UnauthorizedError('the portal session has expired or ended: open a new portal link');
      if (req.method !== 'GET' && req.method !== 'HEAD' && !csrfMatches(deps.box, found.session.id, req.get(CSRF_HEADER))) {
        throw new AppError(403, 'csrf_failed', `a portal write must carry the session's ${CSRF_HEADER} header`);
      }
      res.locals.caller = found.caller;
      res.locals.portalSession = found.session;
      next();
    } catch (err) {
      next(err);
    }
  };
}

const sessionOut = (deps: AppDeps, session: PortalSessionRecord) => ({
  id: session.id,
  tenant_id: session.tenant_id,
  scopes: session.scopes,
  read_only: session.read_only,
  expires_at: session.expires_at,
  csrf_token: csrfToken(deps.box, session.id),
});

/**
 * `/portal`: the endpoint owners' portal. `/portal/open?code=…` turns a one-time link into a
 * session cookie; `/portal/api/v1/…` is the same JSON API as `/api/v1`, authenticated by that
 * cookie (never by a bearer token); the rest is the single-page app and its static files.
 */
export function portalRouter(deps: AppDeps, api: (authenticate: RequestHandler) => Router): Router {
  const router = express.Router();
  router.use(securityHeaders(deps.config.PORTAL_FRAME_ANCESTORS));

  router.get('/open', async (req, res, next) => {
    try {
      const code = typeof req.query.code === 'string' ? req.query.code : '';
      const opened = await openLink(deps.db, code, String(req.id ?? ''));
      if (!opened.ok) {
        statusPage(res, opened.reason === 'unknown' ? 404 : 410, opened.reason === 'used' ? 'Link already used' : opened.reason === 'expired' ? 'Link expired' : 'Link not valid', REFUSALS[opened.reason]);
        return;
      }
      const publicUrl = deps.config.PORTAL_PUBLIC_URL;
      res.cookie(PORTAL_COOKIE, opened.token, {
        httpOnly: true,
        sameSite: 'strict',
        secure: req.secure || (publicUrl?.startsWith('https:') ?? false),
        path: '/portal',
        expires: opened.session.expires_at ?? undefined,
      });
      // A page of ours moves on to the app, not a redirect: after a cross-site navigation (the
      // link in another site's page) a redirect would still count as cross-site and the browser
      // would hold back the SameSite=Strict cookie on it.
      statusPage(res, 200, 'Opening the portal…', 'Your session is ready. <a href="/portal/">Continue to the portal</a>.', '<meta http-equiv="refresh" content="0; url=/portal/">');
    } catch (err) {
      next(err);
    }
  });

  const authenticate = portalAuthenticate(deps);
  router.get('/api/session', authenticate, (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json({ ok: true, data: sessionOut(deps, res.locals.portalSession as PortalSessionRecord) });
  });
  router.post('/api/session/end', authenticate, async (_req, res, next) => {
    try {
      const session = res.locals.portalSession as PortalSessionRecord;
      await endPortalSession(deps.db, session.tenant_id, session.id);
      res.clearCookie(PORTAL_COOKIE, { path: '/portal', httpOnly: true, sameSite: 'strict' });
      res.json({ ok: true, data: { ended: true } });
    } catch (err) {
      next(err);
    }
  });
  router.use('/api/v1', api(authenticate));

  router.get('/vendor/:file', (req, res, next) => {
    const file = VENDOR_FILES[req.params.file];
    if (!file) next();
    else res.sendFile(file, { maxAge: '1h' });
  });
  router.use('/assets', express.static(PORTAL_DIR, { index: false, maxAge: 0, fallthrough: true }));
  router.get('/', (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.sendFile(path.join(PORTAL_DIR, 'index.html'));
  });
  return router;
}
