import { createLogger } from '../../src/logger';

describe('the process logger', () => {
  it('when an error path logs a config, a stored row or request headers, then the secrets in them are redacted', () => {
    const lines: string[] = [];
    const log = createLogger('trace', 'test', { write: (line: string) => void lines.push(line) });
    log.error({ config: { MASTER_KEY: 'mk-value-1', API_TOKEN: 'tok-value-2', DATABASE_URL: 'postgres://u:pw-value-3@db/x', PORT: 3000 } }, 'config error');
    log.warn({ row: { id: 'key_1', ciphertext: 'ct-value-4' }, header: { sealed: 'sealed-value-5', sensitive: true } }, 'could not open');
    log.info({ req: { headers: { authorization: 'Bearer auth-value-6', cookie: 'c=cookie-value-7', 'x-api-key': 'key-value-8' } } }, 'request');
    const all = lines.join('\n');
    for (const value of ['mk-value-1', 'tok-value-2', 'pw-value-3', 'ct-value-4', 'sealed-value-5', 'auth-value-6', 'cookie-value-7', 'key-value-8']) expect(all).not.toContain(value);
    expect(all).toContain('"PORT":3000');
  });
});
