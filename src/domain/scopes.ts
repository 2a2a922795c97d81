/** Every permission a route can require. */
export const SCOPES = [
  'endpoints:read',
  'endpoints:write',
  'events:write',
  'deliveries:read',
  'deliveries:write',
  'keys:manage',
  'keys:export',
  'api-keys:manage',
  'event-types:read',
  'event-types:write',
  'audit:read',
  'settings:manage',
  'sources:read',
  'sources:write',
  'telemetry:read',
  'portal:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do. `keys:export` is never implied: it must be granted explicitly. */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: SCOPES.filter((s) => s !== 'keys:export'),
  operator: ['endpoints:read', 'endpoints:write', 'events:write', 'deliveries:read', 'deliveries:write', 'event-types:read', 'event-types:write', 'sources:read', 'telemetry:read'],
  viewer: ['endpoints:read', 'deliveries:read', 'event-types:read', 'sources:read'],
};

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/**
 * Platform permissions: managing tenants and the platform's own keys. No tenant credential holds
 * one (not the bootstrap token, not an admin key, not a JWT claim), and no platform credential
 * holds a tenant scope, so the two kinds of credential can never stand in for each other.
 */
export const PLATFORM_SCOPES = ['tenants:read', 'tenants:manage', 'platform-keys:manage'] as const;
export type PlatformScope = (typeof PLATFORM_SCOPES)[number];

/** What a route can require: a tenant scope or a platform scope. */
export type RouteScope = Scope | PlatformScope;

export function isPlatformScope(value: string): value is PlatformScope {
  return (PLATFORM_SCOPES as readonly string[]).includes(value);
}

/**
 * What a portal session may hold: managing endpoints and reading their deliveries, never a
 * credential-minting or tenant-wide setting scope. A link grants its creator's scopes within this
 * list (or fewer). `keys:export` lets the portal show an endpoint's new secret after a rotation
 * (each time audited as `KeyExported`).
 */
export const PORTAL_SCOPES = ['endpoints:read', 'endpoints:write', 'deliveries:read', 'deliveries:write', 'event-types:read', 'keys:manage', 'keys:export'] as const satisfies readonly Scope[];
export type PortalScope = (typeof PORTAL_SCOPES)[number];

/** The portal scopes a read-only link keeps. */
export const PORTAL_READ_SCOPES: readonly PortalScope[] = ['endpoints:read', 'deliveries:read', 'event-types:read'];
