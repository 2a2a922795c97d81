import { maskUrl, openUrl, sealUrl } from '../../src/security/endpoint-url';
import { parseMasterKey, SecretBox } from '../../src/security/secret-box';

describe('maskUrl', () => {
  it.each([
    ['a Slack incoming webhook', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'https://hooks.slack.com/services/****/****/****'],
    ['a Discord webhook', 'https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_jkl', 'https://discord.com/api/webhooks/****/****'],
    ['a Zapier catch hook', 'https://hooks.zapier.com/hooks/catch/123456/abcdef/', 'https://hooks.zapier.com/hooks/catch/****/****/'],
    ['a token in the query', 'https://r.example.com/hooks?token=abc&team=x', 'https://r.example.com/hooks?token=****&team=x'],
    ['a random path segment', 'https://r.example.com/in/8f14e45fceea167a5a36dedd4bea2543/x', 'https://r.example.com/in/****/x'],
  ])('when the URL is %s, then its secret parts are masked', (_name, url, masked) => {
    expect(maskUrl(url)).toEqual({ masked, secret: true });
  });

  it('when the URL carries no secret, then it is kept as it is, unless it is marked sensitive', () => {
    expect(maskUrl('https://r.example.com/hooks/orders?v=2')).toEqual({ masked: 'https://r.example.com/hooks/orders?v=2', secret: false });
    expect(maskUrl('https://r.example.com/hooks/orders?v=2', true)).toEqual({ masked: 'https://r.example.com/****/****?v=****', secret: true });
  });

  it('when a secret URL is sealed, then the stored form holds only the masked URL and opens to the real one', () => {
    const box = new SecretBox(parseMasterKey('5a'.repeat(32)));
    const real = 'https://hooks.slack.com/services/T1/B2/zzzzzzzzzzzzzzzzzzzz9';
    const stored = sealUrl(box, 'ep_1', real);
    expect(stored.url).toBe('https://hooks.slack.com/services/****/****/****');
    expect(stored.url_sealed).not.toContain('zzzz');
    expect(openUrl(box, 'ep_1', stored)).toBe(real);
    expect(() => openUrl(box, 'ep_2', stored)).toThrow(); // bound to its endpoint
  });
});
