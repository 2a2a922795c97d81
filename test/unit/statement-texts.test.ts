import { StatementTexts } from '../../src/db/knex';

describe('StatementTexts', () => {
  it('builds each variant once and answers the same string for it after, so a hot statement is neither rebuilt nor rehashed per call', () => {
    const texts = new StatementTexts();
    const built: string[] = [];
    const build = (n: number) => () => {
      built.push(String(n));
      return ['select', ...Array.from({ length: n }, (_, i) => `$${i + 1}`)].join(' ');
    };
    const first = texts.of('2', build(2));
    expect(first).toBe('select $1 $2');
    expect(texts.of('2', build(2))).toBe(first);
    expect(texts.of('3', build(3))).toBe('select $1 $2 $3');
    expect(built).toEqual(['2', '3']);
  });
});
