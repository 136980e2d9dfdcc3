/** The pure rules: admission against limits, reservation windows, lifecycle events due. */
import {
  decideAdmission,
  effectiveLimits,
  formatBytes,
  timesContainers,
  type Limits,
} from '../src/domain/limits';
import { dueEvents, endingDueAt } from '../src/domain/schedule';
import { freeWindows, mostAtOnce, reservationState, windowProblems } from '../src/domain/windows';

const limits: Limits = {
  maxContainers: 10,
  maxCpuMillis: 4000,
  maxMemoryBytes: 4 * 1024 ** 3,
  maxAddresses: 20,
  maxConcurrentReservations: 2,
};
const t = (hhmm: string) => new Date(`2030-01-01T${hhmm}:00Z`);
const w = (a: string, b: string) => ({ start: t(a), end: t(b) });

test('overrides replace defaults; null keeps the default', () => {
  expect(effectiveLimits(limits, { maxContainers: 3, maxAddresses: null })).toMatchObject({
    maxContainers: 3,
    maxAddresses: 20,
  });
});

test('admission is refused with the numbers a person can act on', () => {
  const inUse = timesContainers(9, { cpuMillis: 100, memoryBytes: 1024 ** 3 / 4, addresses: 1 });
  const ask = timesContainers(3, { cpuMillis: 100, memoryBytes: 1024 ** 3 / 4, addresses: 1 });
  const verdict = decideAdmission(limits, inUse, ask);
  expect(verdict).toEqual({
    granted: false,
    exceeded: [{ limit: 'maxContainers', max: 10, inUse: 9, requested: 3 }],
    reason: 'limit 10 containers, 9 in use, 3 requested',
  });
  expect(
    decideAdmission(limits, inUse, timesContainers(1, { cpuMillis: 0, memoryBytes: 0, addresses: 0 })),
  ).toEqual({
    granted: true,
  });
  const heavy = decideAdmission(limits, inUse, {
    containers: 1,
    cpuMillis: 3500,
    memoryBytes: 2 * 1024 ** 3,
    addresses: 1,
  });
  expect(heavy.granted).toBe(false);
  expect(!heavy.granted && heavy.reason).toBe(
    'limit 4000 CPU millicores, 900 in use, 3500 requested; limit 4 GiB of memory, 2304 MiB in use, 2 GiB requested',
  );
});

test('bytes print in the largest exact unit', () => {
  expect([formatBytes(4 * 1024 ** 3), formatBytes(1536 * 1024 ** 2), formatBytes(1000)]).toEqual([
    '4 GiB',
    '1536 MiB',
    '1000 B',
  ]);
});

test('a new window must end after it starts and not lie in the past', () => {
  const now = t('10:00');
  expect(windowProblems(w('11:00', '12:00'), now)).toEqual([]);
  // "From now" with a slightly late clock is still now.
  expect(windowProblems({ start: new Date(now.getTime() - 30_000), end: t('11:00') }, now)).toEqual([]);
  expect(windowProblems(w('12:00', '11:00'), now).map((p) => p.path)).toEqual(['body.end']);
  expect(windowProblems(w('08:00', '09:00'), now)).toEqual([
    { path: 'body.end', message: expect.stringMatching(/in the past/) },
  ]);
  expect(windowProblems(w('09:00', '11:00'), now)).toEqual([
    { path: 'body.start', message: expect.stringMatching(/in the past/) },
  ]);
});

test('free windows are the gaps between bookings, clipped to the range', () => {
  expect(
    freeWindows(w('08:00', '18:00'), [w('12:00', '13:00'), w('07:00', '09:00'), w('12:30', '14:00')]),
  ).toEqual([w('09:00', '12:00'), w('14:00', '18:00')]);
  expect(freeWindows(w('08:00', '10:00'), [w('07:00', '11:00')])).toEqual([]);
  expect(freeWindows(w('08:00', '10:00'), [])).toEqual([w('08:00', '10:00')]);
});

test('most windows at one instant; touching windows do not overlap', () => {
  expect(mostAtOnce([w('08:00', '10:00'), w('10:00', '12:00')])).toBe(1);
  expect(mostAtOnce([w('08:00', '12:00'), w('09:00', '10:00'), w('11:00', '13:00')])).toBe(2);
  expect(mostAtOnce([w('08:00', '12:00'), w('09:00', '11:00'), w('10:00', '10:30')])).toBe(3);
});

test('a reservation is upcoming, active, ended or cancelled', () => {
  const r = { ...w('10:00', '11:00'), cancelledAt: null };
  expect([t('09:59'), t('10:00'), t('10:59'), t('11:00')].map((now) => reservationState(r, now))).toEqual([
    'upcoming',
    'active',
    'active',
    'ended',
  ]);
  expect(reservationState({ ...r, cancelledAt: t('09:00') }, t('10:30'))).toBe('cancelled');
});

describe('lifecycle events', () => {
  const lead = 10 * 60_000;
  const fresh = {
    startsAt: t('10:00'),
    endsAt: t('11:00'),
    startedEventAt: null,
    endingEventAt: null,
    endedEventAt: null,
  };

  test('each is due at its instant', () => {
    expect(dueEvents(fresh, t('09:59'), lead)).toEqual([]);
    expect(dueEvents(fresh, t('10:00'), lead)).toEqual(['started']);
    const started = { ...fresh, startedEventAt: t('10:00') };
    expect(dueEvents(started, t('10:49'), lead)).toEqual([]);
    expect(dueEvents(started, t('10:50'), lead)).toEqual(['ending']);
    const warned = { ...started, endingEventAt: t('10:50') };
    expect(dueEvents(warned, t('11:00'), lead)).toEqual(['ended']);
    expect(dueEvents({ ...warned, endedEventAt: t('11:00') }, t('12:00'), lead)).toEqual([]);
  });

  test('a scheduler that was down catches up in order', () => {
    expect(dueEvents(fresh, t('12:00'), lead)).toEqual(['started', 'ending', 'ended']);
  });

  test('a reservation shorter than the lead time warns at its start', () => {
    const short = { ...fresh, endsAt: t('10:05') };
    expect(endingDueAt(short, lead)).toEqual(t('10:00'));
    expect(dueEvents(short, t('10:00'), lead)).toEqual(['started', 'ending']);
  });
});
