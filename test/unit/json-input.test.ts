import { jsonProblems, MAX_JSON_DEPTH, queryEncodingProblems, textProblem } from '../../src/api/json-input';

describe('when input is checked at the edge', () => {
  it.each([
    ['NUL', 'a\u0000b', /U\+0000/],
    ['a lone high surrogate', 'a\ud800', /surrogate/],
    ['a lone low surrogate', '\udc00', /surrogate/],
  ])('then text with %s is refused', (_name, text, message) => {
    expect(textProblem(text)).toMatch(message);
  });

  it('then a surrogate pair, tabs and newlines are text', () => {
    expect(textProblem('\u{1F4A9}\t\n\r')).toBeNull();
  });

  it('then prototype keys, NUL keys and values are found with their paths', () => {
    const value = JSON.parse('{"a":{"__proto__":1},"b":[{"constructor":2}],"c":"\\u0000","k\\u0000":1}');
    expect(jsonProblems(value, 'body').map((p) => p.path).sort()).toEqual(['body', 'body.a.__proto__', 'body.b.0.constructor', 'body.c']);
  });

  it(`then nesting past ${MAX_JSON_DEPTH} levels is found, at the top-level field, without recursion`, () => {
    const deep = JSON.parse(`{"payload":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    expect(jsonProblems(deep, 'body')).toEqual([{ path: 'body.payload', message: expect.stringMatching(/deeper than 64/) }]);
    const ok = JSON.parse(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`);
    expect(jsonProblems(ok, 'body')).toEqual([]);
  });

  it('then query parameters that are not percent-encoded UTF-8 are found', () => {
    expect(queryEncodingProblems('/x?a=%ED%A0%80&b=ok&c=%ZZ&d=%E2%82%AC').map((p) => p.path)).toEqual(['query.a', 'query.c']);
  });
});
