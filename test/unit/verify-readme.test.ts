import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HMAC_SCHEMES } from '../../src/domain/signature-schemes';
import { signatureHeaders } from '../../src/security/schemes';
import { generateSecret } from '../../src/security/signing';
import { verify } from '../../src/security/verify';

/** The README's receiver examples, run against the service's own signer and verifier. */
const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Verifying a signature (receivers)'), readme.indexOf('## Temporal UI and search attributes'));
const block = (lang: string) => [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].find((m) => m[1] === lang)![2]!;

const oldKey = { id: 'key_old', secret: generateSecret() };
const newKey = { id: 'key_new', secret: generateSecret() };
const stranger = { id: 'key_x', secret: generateSecret() };
const body = '{"id":"evt_1","type":"order.created","data":{"note":"héllo ✓"}}';

/** One case per scheme and signer set, with what the service's verify() says about it. */
const cases = HMAC_SCHEMES.flatMap((scheme) =>
  [[newKey, oldKey], [stranger], [newKey]].map((keys) => {
    const headers = signatureHeaders(scheme, keys, { messageId: 'dlv_1', body, now: new Date() });
    let expected = true;
    try {
      verify(scheme, headers, body, [oldKey.secret]);
    } catch {
      expected = false;
    }
    return { scheme, headers, expected };
  }),
);

function nodeVerifier(): (scheme: string, get: (name: string) => string | undefined, body: Buffer) => boolean {
  const fakeExpress = Object.assign(() => ({ post: () => undefined }), { raw: () => undefined });
  const fakeRequire = (name: string) => (name === 'node:crypto' ? crypto : fakeExpress);
  const env = { WEBHOOK_SECRETS: oldKey.secret };
  return new Function('require', 'process', `${block('js')}\nreturn verifyWebhook;`)(fakeRequire, { env });
}

describe('the README receiver examples', () => {
  it('when they hold the old secret, then they accept and refuse exactly what verify() does, for every scheme', () => {
    expect(cases.map((c) => c.expected)).toEqual([true, false, false, true, false, false, true, false, false]);
  });

  it('when the Node (Express) example checks real signatures, then it agrees with verify()', () => {
    const verifyWebhook = nodeVerifier();
    for (const c of cases) {
      const get = (name: string) => (c.headers as Record<string, string>)[name.toLowerCase()];
      expect([c.scheme, verifyWebhook(c.scheme, get, Buffer.from(body))]).toEqual([c.scheme, c.expected]);
    }
  });

  const python = spawnSync('python3', ['--version']).status === 0 ? it : it.skip;
  python('when the Python (Flask/Django) function checks real signatures, then it agrees with verify()', () => {
    const harness = `${block('python')}
import json, sys
body = ${JSON.stringify(body)}.encode()
cases = json.load(sys.stdin)
print(json.dumps([verify_webhook(c["scheme"], c["headers"], body) for c in cases]))
`;
    const run = spawnSync('python3', ['-c', harness], {
      input: JSON.stringify(cases),
      env: { ...process.env, WEBHOOK_SECRETS: oldKey.secret },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(cases.map((c) => c.expected));
  });
});
