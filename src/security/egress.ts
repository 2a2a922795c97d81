import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where outbound webhooks may go. Without a check, anyone allowed to register an endpoint could
 * make the workers POST to the cloud metadata service, a database on the private network or an
 * admin port on localhost (SSRF). Destinations are checked on their *resolved* addresses, at
 * connect time, so a name that resolves to a private address is refused too, and the socket
 * connects to the very address that was checked.
 */
export interface EgressPolicy {
  /** Loopback, private, link-local, CGNAT, multicast and reserved addresses are allowed. */
  allowPrivate: boolean;
  /** When set, only these destinations: exact hosts, `*.suffix` wildcards, or CIDR ranges. */
  allowlist: { hosts: string[]; suffixes: string[]; ranges: BlockList; hasRanges: boolean } | null;
}

/** Thrown (and classified `egress_blocked`, not retryable) for a destination the policy refuses. */
export class EgressBlockedError extends Error {
  override name = 'EgressBlockedError';
  readonly code = 'EGRESS_BLOCKED';
}

/** Address ranges no webhook should reach unless explicitly allowed. */
const NON_PUBLIC: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], // "this network"
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], // link-local, including 169.254.169.254 (cloud metadata)
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved and broadcast
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'], // NAT64: reaches IPv4 addresses, private ones included
  ['100::', 64, 'ipv6'], // discard
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'], // unique local, including fd00:ec2::254 (cloud metadata)
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const nonPublic = new BlockList();
for (const [network, prefix, family] of NON_PUBLIC) nonPublic.addSubnet(network, prefix, family);

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** True for loopback, private, link-local and other addresses that are not on the public internet. */
export function isNonPublicAddress(address: string): boolean {
  // BlockList matches IPv4-mapped IPv6 (::ffff:10.0.0.1) against the IPv4 ranges.
  return nonPublic.check(address, familyOf(address));
}

/**
 * Parses `EGRESS_ALLOWLIST` entries: `hooks.example.com`, `*.example.com`, `203.0.113.0/24`,
 * `10.1.2.3`. Throws with the bad entry named.
 */
export function parseAllowlist(entries: string[]): NonNullable<EgressPolicy['allowlist']> {
  const hosts: string[] = [];
  const suffixes: string[] = [];
  const ranges = new BlockList();
  let hasRanges = false;
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const [network, prefix, ...rest] = entry.split('/');
    if (isIP(network!) && rest.length === 0) {
      const family = familyOf(network!);
      const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv4' ? 32 : 128)) throw new Error(`bad CIDR prefix in "${raw}"`);
      ranges.addSubnet(network!, bits, family);
      hasRanges = true;
    } else if (/^\*\.[a-z0-9.-]+$/.test(entry)) {
      suffixes.push(entry.slice(1));
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
      hosts.push(entry);
    } else {
      throw new Error(`"${raw}" is not a host name, *.wildcard or CIDR`);
    }
  }
  return { hosts, suffixes, ranges, hasRanges };
}

/**
 * The policy from configuration. Private destinations are refused unless EGRESS_ALLOW_PRIVATE is
 * set, or the process is explicitly in development or test (an unset NODE_ENV is production).
 */
export function egressPolicy(config: { EGRESS_ALLOW_PRIVATE?: boolean; EGRESS_ALLOWLIST?: string; NODE_ENV: string }): EgressPolicy {
  const entries = (config.EGRESS_ALLOWLIST ?? '').split(',').filter((e) => e.trim() !== '');
  return {
    allowPrivate: config.EGRESS_ALLOW_PRIVATE ?? (config.NODE_ENV === 'development' || config.NODE_ENV === 'test'),
    allowlist: entries.length > 0 ? parseAllowlist(entries) : null,
  };
}

/** URL host without IPv6 brackets, lower-cased. */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function nameAllowed(policy: EgressPolicy, host: string): boolean {
  const list = policy.allowlist;
  return !list || list.hosts.includes(host) || list.suffixes.some((s) => host.endsWith(s));
}

/** Throws EgressBlockedError unless `host` (as named in the URL) may be reached at `address`. */
export function checkDestination(policy: EgressPolicy, host: string, address: string): void {
  const inRange = policy.allowlist?.hasRanges === true && policy.allowlist.ranges.check(address, familyOf(address));
  if (!nameAllowed(policy, host) && !inRange) {
    throw new EgressBlockedError(`destination ${host} is not in EGRESS_ALLOWLIST`);
  }
  if (!policy.allowPrivate && !inRange && isNonPublicAddress(address)) {
    throw new EgressBlockedError(`destination ${host} resolves to a non-public address (${address}); allow it with EGRESS_ALLOWLIST or EGRESS_ALLOW_PRIVATE`);
  }
}

/**
 * What can be told about a URL without resolving it: IP literals and `localhost` are checked in
 * full, other names against the allowlist's host entries (their addresses are checked at send).
 * Returns the reason it is refused, or null.
 */
export function refusedUrl(policy: EgressPolicy, url: string): string | null {
  const host = urlHost(url);
  try {
    if (isIP(host)) checkDestination(policy, host, host);
    else if (host === 'localhost' || host.endsWith('.localhost')) checkDestination(policy, host, '127.0.0.1');
    else if (!nameAllowed(policy, host) && !policy.allowlist?.hasRanges) checkDestination(policy, host, '0.0.0.0');
    return null;
  } catch (err) {
    if (err instanceof EgressBlockedError) return err.message;
    throw err;
  }
}

/** A `lookup` for sockets that resolves, then keeps only the addresses the policy allows. */
export function guardedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const host = hostname.toLowerCase();
      let refusal: Error | null = null;
      const allowed = addresses.filter(({ address }) => {
        try {
          checkDestination(policy, host, address);
          return true;
        } catch (e) {
          refusal = e as Error;
          return false;
        }
      });
      if (allowed.length === 0) return callback(refusal ?? new EgressBlockedError(`no address for ${hostname}`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/**
 * For deliveries through a proxy, which resolves the destination itself: resolves `host` here and
 * throws EgressBlockedError unless *every* address it has is allowed (the proxy may pick any of
 * them). The proxy resolves again a moment later, so a name whose DNS answer changes in between
 * (DNS rebinding) could still reach another address: the proxy's own rules are the last line.
 */
export async function checkResolvedDestination(policy: EgressPolicy, host: string): Promise<void> {
  const addresses = await dns.promises.lookup(host, { all: true });
  if (addresses.length === 0) throw new EgressBlockedError(`no address for ${host}`);
  for (const { address } of addresses) checkDestination(policy, host.toLowerCase(), address);
}
