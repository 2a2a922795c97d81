import { parseOptions, UsageError } from '../../scripts/bench/options';

describe('npm run bench options', () => {
  it('writes no samples unless asked', () => {
    expect(parseOptions([]).samplesFile).toBeNull();
  });

  it('takes a samples file, as its own argument or after =', () => {
    expect(parseOptions(['--samples', '/tmp/s.tsv', '--runs', 'floor']).samplesFile).toBe('/tmp/s.tsv');
    expect(parseOptions(['--samples=/tmp/t.tsv']).samplesFile).toBe('/tmp/t.tsv');
  });

  it('refuses --samples without a file, also when the next argument is another option', () => {
    expect(() => parseOptions(['--samples'])).toThrow(UsageError);
    expect(() => parseOptions(['--samples', '--json'])).toThrow('--samples needs a file to write');
  });
});
