import { ForbiddenError } from '../../src/errors';
import { portalScopes } from '../../src/services/portal-sessions';

const admin = new Set(['endpoints:read', 'endpoints:write', 'deliveries:read', 'deliveries:write', 'event-types:read', 'keys:manage', 'api-keys:manage', 'portal:write']);

describe('when a portal link is given scopes', () => {
  it.each([
    ['nothing asked: every portal scope the creator holds, none other', {}, ['endpoints:read', 'endpoints:write', 'deliveries:read', 'deliveries:write', 'event-types:read', 'keys:manage']],
    ['a subset asked: that subset', { scopes: ['deliveries:read', 'endpoints:read'] }, ['deliveries:read', 'endpoints:read']],
    ['read-only: the reading ones of what it would get', { read_only: true }, ['endpoints:read', 'deliveries:read', 'event-types:read']],
    ['read-only with a subset: its reading ones', { read_only: true, scopes: ['endpoints:read', 'endpoints:write'] }, ['endpoints:read']],
    ['a scope asked twice: once', { scopes: ['endpoints:read', 'endpoints:read'] }, ['endpoints:read']],
  ] as const)('when %s', (_name, input, expected) => {
    expect(portalScopes(admin, input as never)).toEqual(expected);
  });

  it('then a scope the creator does not hold is refused, naming it', () => {
    expect(() => portalScopes(admin, { scopes: ['keys:export'] })).toThrow(new ForbiddenError('cannot grant scopes you do not hold: keys:export'));
  });

  it('then a link with nothing left to grant is refused', () => {
    expect(() => portalScopes(new Set(['portal:write', 'settings:manage']), {})).toThrow(ForbiddenError);
    expect(() => portalScopes(admin, { read_only: true, scopes: ['endpoints:write'] })).toThrow(/at least one of endpoints:read/);
  });
});
