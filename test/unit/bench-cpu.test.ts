import { cpuMsAll, cpuMsPerDelivery } from '../../scripts/bench/measure';

describe('cpuMsAll: what a delivery cost the machine, in the bench report', () => {
  it('adds every measured process, the bench itself included', () => {
    expect(cpuMsAll({ bench: 0.5, api: 2, worker: 7.5, temporal: 6.5, postgres: 1.75 })).toBeCloseTo(18.25, 10);
  });

  it('counts a process that was not measured as nothing (a floor has no API, the one-process shape no API apart)', () => {
    expect(cpuMsAll({ bench: 0.25, api: null, worker: 5.5, temporal: 5.5, postgres: 0 })).toBeCloseTo(11.25, 10);
    expect(cpuMsAll({ bench: 0.25, api: null, worker: 5.5, temporal: null, postgres: null })).toBeCloseTo(5.75, 10);
  });

  it('is null when no delivering process was measured', () => {
    expect(cpuMsAll({ bench: 0.25, api: 2, worker: null, temporal: 6, postgres: 1 })).toBeNull();
  });
});

describe('cpuMsPerDelivery: a phase\'s CPU seconds as ms per delivery', () => {
  it('divides each process by the deliveries, keeping the ones not measured null', () => {
    expect(cpuMsPerDelivery({ bench: 0.5, api: null, worker: 7.5, temporal: 6, postgresAll: 9 }, 2, 1000)).toEqual({ bench: 0.5, api: null, worker: 7.5, temporal: 6, postgres: 2 });
    expect(cpuMsPerDelivery({ bench: 1, api: 2, worker: 4, temporal: null, postgresAll: null }, null, 500)).toEqual({ bench: 2, api: 4, worker: 8, temporal: null, postgres: null });
  });
});
