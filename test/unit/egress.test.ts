import { loadConfig } from '../../src/config';
import { checkDestination, EgressBlockedError, egressPolicy, guardedLookup, isNonPublicAddress, parseAllowlist, refusedUrl } from '../../src/security/egress';

const strict = egressPolicy({ NODE_ENV: 'production' });

describe('isNonPublicAddress', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', '64:ff9b::a00:1',
  ])('when the address is %s, then it is not public', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('when the address is %s, then it is public', (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });
});

describe('egressPolicy', () => {
  it('when EGRESS_ALLOW_PRIVATE is unset, then private destinations are refused only in production', () => {
    expect(egressPolicy({ NODE_ENV: 'production' }).allowPrivate).toBe(false);
    expect(egressPolicy({ NODE_ENV: 'development' }).allowPrivate).toBe(true);
    expect(egressPolicy({ NODE_ENV: 'development', EGRESS_ALLOW_PRIVATE: false }).allowPrivate).toBe(false);
  });

  it('when the allowlist has a bad entry, then the configuration is refused naming it', () => {
    expect(() => parseAllowlist(['hooks.example.com', 'not a host'])).toThrow('"not a host"');
    expect(() => parseAllowlist(['10.0.0.0/33'])).toThrow('CIDR');
    expect(() => loadConfig({ NODE_ENV: 'test', EGRESS_ALLOWLIST: 'ok.example.com,http://x' })).toThrow(/EGRESS_ALLOWLIST/);
    expect(loadConfig({ NODE_ENV: 'test', EGRESS_ALLOWLIST: 'ok.example.com, *.example.org, 10.0.0.0/8', EGRESS_ALLOW_PRIVATE: 'false' })).toMatchObject({ EGRESS_ALLOW_PRIVATE: false });
  });
});

describe('checkDestination', () => {
  it('when private addresses are refused, then loopback and metadata are blocked and public ones pass', () => {
    expect(() => checkDestination(strict, 'internal.example', '127.0.0.1')).toThrow(EgressBlockedError);
    expect(() => checkDestination(strict, '169.254.169.254', '169.254.169.254')).toThrow('non-public address');
    expect(() => checkDestination(strict, 'hooks.example.com', '93.184.216.34')).not.toThrow();
  });

  it('when an allowlist is set, then only its hosts, wildcards and ranges pass, and its ranges may be private', () => {
    const policy = egressPolicy({ NODE_ENV: 'production', EGRESS_ALLOWLIST: 'hooks.example.com,*.partner.io,10.9.0.0/16' });
    expect(() => checkDestination(policy, 'hooks.example.com', '93.184.216.34')).not.toThrow();
    expect(() => checkDestination(policy, 'a.b.partner.io', '93.184.216.35')).not.toThrow();
    expect(() => checkDestination(policy, 'partner.io', '93.184.216.35')).toThrow('EGRESS_ALLOWLIST');
    expect(() => checkDestination(policy, 'other.example.com', '93.184.216.36')).toThrow('EGRESS_ALLOWLIST');
    expect(() => checkDestination(policy, 'internal.corp', '10.9.1.1')).not.toThrow();
    expect(() => checkDestination(policy, 'hooks.example.com', '10.10.0.1')).toThrow('non-public address');
  });
});

describe('refusedUrl', () => {
  it('when a URL names a refused IP literal or localhost, then it is refused before anything is resolved', () => {
    expect(refusedUrl(strict, 'http://127.0.0.1:8080/x')).toMatch(/non-public/);
    expect(refusedUrl(strict, 'http://[::1]/x')).toMatch(/non-public/);
    expect(refusedUrl(strict, 'http://localhost/x')).toMatch(/non-public/);
    expect(refusedUrl(strict, 'https://hooks.example.com/x')).toBeNull();
    const listed = egressPolicy({ NODE_ENV: 'production', EGRESS_ALLOWLIST: 'hooks.example.com' });
    expect(refusedUrl(listed, 'https://other.example.com/x')).toMatch(/EGRESS_ALLOWLIST/);
  });
});

describe('guardedLookup', () => {
  const lookup = (policy: ReturnType<typeof egressPolicy>, host: string, all: boolean) =>
    new Promise<unknown>((resolve, reject) =>
      guardedLookup(policy)(host, { all }, (err: Error | null, address: unknown) => (err ? reject(err) : resolve(address))),
    );

  it('when a name resolves to loopback and private addresses are refused, then the lookup fails with EGRESS_BLOCKED', async () => {
    await expect(lookup(strict, 'localhost', false)).rejects.toMatchObject({ code: 'EGRESS_BLOCKED' });
    await expect(lookup(strict, 'localhost', true)).rejects.toBeInstanceOf(EgressBlockedError);
  });

  it('when private addresses are allowed, then the lookup answers in the form asked for', async () => {
    const open = egressPolicy({ NODE_ENV: 'development' });
    expect(await lookup(open, 'localhost', false)).toEqual(expect.any(String));
    expect(await lookup(open, 'localhost', true)).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]));
  });
});
