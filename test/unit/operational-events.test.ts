import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { failingAlertsDue, isOperationalEventType, OPERATIONAL_EVENT_TYPES } from '../../src/domain/operational-events';

const since = new Date('2026-01-01T00:00:00Z');
const after = (seconds: number) => new Date(since.getTime() + seconds * 1000);

describe('failingAlertsDue', () => {
  it.each([
    ['when healthy, then nothing', null, 100, 0, 50, []],
    ['when the service never disables, then nothing', since, 0, 0, 1e6, []],
    ['when under half way, then nothing', since, 100, 0, 49, []],
    ['when half way, then 50', since, 100, 0, 50, [50]],
    ['when 50 was sent and 75 % is reached, then 70', since, 100, 50, 75, [70]],
    ['when nothing was sent and the threshold is passed, then every share in order', since, 100, 0, 150, [50, 70, 90, 100]],
    ['when 100 was sent, then nothing more', since, 100, 100, 500, []],
  ] as const)('%s', (_name, failingSince, disableAfter, sent, elapsed, expected) => {
    expect(failingAlertsDue(failingSince, disableAfter, sent, after(elapsed))).toEqual(expected);
  });
});

describe('the operational event catalog', () => {
  it('when each example is checked against its schema, then it is valid, and a missing field is not', () => {
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    for (const [name, t] of Object.entries(OPERATIONAL_EVENT_TYPES)) {
      expect({ name, valid: ajv.validate(t.schema, t.example) }).toEqual({ name, valid: true });
      const [first] = Object.keys(t.example);
      const missing: Record<string, unknown> = { ...t.example };
      delete missing[first];
      expect(ajv.validate(t.schema, missing)).toBe(false);
    }
  });

  it('when a type is looked up, then only the built-in names are operational', () => {
    expect(isOperationalEventType('endpoint.failing')).toBe(true);
    expect(isOperationalEventType('order.created')).toBe(false);
    expect(isOperationalEventType('toString')).toBe(false);
  });
});
