import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  ca: string;
  /** Server certificate for `serverIp` (IP SAN, default 127.0.0.1), signed by `ca`. */
  server: { cert: string; key: string };
  /** Client certificate (CN=webhook-client, clientAuth), signed by `ca`. */
  client: { cert: string; key: string };
  /** A second CA that signed nothing here. */
  otherCa: string;
}

/** A throwaway PKI made with the openssl CLI: a CA, a server and a client certificate (P-256). */
export function makeTestPki(serverIp = '127.0.0.1'): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
  try {
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    for (const ca of ['ca', 'other-ca']) run('req', '-x509', ...newKey, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
    const issue = (name: string, subject: string, ext: string) => {
      writeFileSync(path.join(dir, `${name}.ext`), ext);
      run('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
      run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
    };
    issue('server', `/CN=${serverIp}`, `subjectAltName=IP:${serverIp}\nextendedKeyUsage=serverAuth\n`);
    issue('client', '/CN=webhook-client', 'extendedKeyUsage=clientAuth\n');
    return {
      ca: read('ca.crt'),
      otherCa: read('other-ca.crt'),
      server: { cert: read('server.crt'), key: read('server.key') },
      client: { cert: read('client.crt'), key: read('client.key') },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
