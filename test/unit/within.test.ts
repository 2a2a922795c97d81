import { within } from '../../src/within';

const late = () => new Error('late');

describe('within', () => {
  it('gives the promise’s value when it settles in time', async () => {
    await expect(within(Promise.resolve(7), 1_000, late)).resolves.toBe(7);
  });

  it('passes the promise’s own rejection through', async () => {
    await expect(within(Promise.reject(new Error('own')), 1_000, late)).rejects.toThrow('own');
  });

  it('rejects with late() once the time has passed, and late() is called only then', async () => {
    let asked = 0;
    const never = new Promise<number>(() => undefined);
    await expect(within(never, 20, () => (asked++, late()))).rejects.toThrow('late');
    expect(asked).toBe(1);
    await within(Promise.resolve(1), 20, () => (asked++, late()));
    await new Promise((r) => setTimeout(r, 40));
    expect(asked).toBe(1);
  });
});
