import { AppError } from '../../src/errors';
import { idTime, newId } from '../../src/ids';
import { recoveryWindow } from '../../src/services/recoveries';

const now = new Date('2026-06-01T12:00:00Z');
const refused = (since: string, until?: string) => {
  try {
    recoveryWindow(since, until, now);
  } catch (err) {
    return err instanceof AppError ? `${err.status} ${err.code}` : String(err);
  }
  return 'accepted';
};

describe('a recovery window', () => {
  it('when until is left out, then it ends now', () => {
    expect(recoveryWindow('2026-06-01T00:00:00Z', undefined, now)).toEqual({ since: new Date('2026-06-01T00:00:00Z'), until: now });
  });

  it('when since is not before until, or until lies in the future, then 400 invalid_window', () => {
    expect(refused('2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')).toBe('400 invalid_window');
    expect(refused('2026-06-01T11:00:00Z', '2026-06-01T10:00:00Z')).toBe('400 invalid_window');
    expect(refused('2026-06-01T10:00:00Z', '2026-06-01T13:00:00Z')).toBe('400 invalid_window');
    expect(refused('2026-06-02T00:00:00Z')).toBe('400 invalid_window');
  });

  it('when until is a few seconds ahead (clocks differ), then it is accepted', () => {
    expect(refused('2026-06-01T10:00:00Z', '2026-06-01T12:00:30Z')).toBe('accepted');
  });
});

describe('the time an id was minted', () => {
  it('when the id is a ULID of ours, then its time is read back; otherwise null', () => {
    const before = Date.now();
    const t = idTime(newId('dlv'))!.getTime();
    expect(t).toBeGreaterThanOrEqual(before - 1);
    expect(t).toBeLessThanOrEqual(Date.now());
    expect(idTime('dlv_not-a-ulid')).toBeNull();
  });
});
