import { ConflictError, InvalidError } from '@testbed/kit';
import { AddressConflictError, planAllocation } from '../src/domain/allocation-plan';
import { formatIpv4, parseCidr, parseIpv4 } from '@testbed/kit';
import { definePool, poolSize } from '../src/domain/pool';

const ip = (s: string) => parseIpv4(s) as number;
const experiment = definePool({
  name: 'experiment',
  cidr: '10.64.98.0/23',
  rangeStart: '10.64.98.52',
  rangeEnd: '10.64.98.240',
  gateway: '10.64.98.51',
  exclude: ['10.64.98.60'],
  segment: 'testbed',
});
const none = new Set<number>();

test('parses and formats addresses and CIDRs', () => {
  expect(formatIpv4(ip('172.10.0.254'))).toBe('172.10.0.254');
  expect(parseIpv4('10.0.0.256')).toBeUndefined();
  expect(parseIpv4('10.0.0')).toBeUndefined();
  expect(parseCidr('10.64.98.0/23')).toEqual({
    network: ip('10.64.98.0'),
    prefix: 23,
    broadcast: ip('10.64.99.255'),
  });
  expect(parseCidr('10.64.98.7/23')).toBeUndefined();
});

test('the pool size leaves out the gateway and exclusions', () => {
  expect(poolSize(experiment)).toBe(240 - 52 + 1 - 1);
});

test('definePool names every bad field', () => {
  let error: unknown;
  try {
    definePool({
      name: 'x',
      cidr: '10.0.0.0/24',
      rangeStart: '10.0.1.5',
      rangeEnd: '10.0.0.2',
      gateway: 'nope',
      segment: 's',
    });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InvalidError);
  expect((error as InvalidError).errors.map((e) => e.path)).toEqual([
    'body.rangeStart',
    'body.rangeEnd',
    'body.gateway',
  ]);
  expect(() =>
    definePool({
      name: 'x',
      cidr: '10.0.0.0/24',
      rangeStart: '10.0.0.9',
      rangeEnd: '10.0.0.2',
      segment: 's',
    }),
  ).toThrow(/before range start/);
});

test('the next free address skips reserved and taken ones', () => {
  expect(planAllocation(experiment, { kind: 'next', count: 1 }, none).map(formatIpv4)).toEqual([
    '10.64.98.52',
  ]);
  const taken = new Set([ip('10.64.98.52'), ip('10.64.98.53')]);
  expect(planAllocation(experiment, { kind: 'next', count: 1 }, taken).map(formatIpv4)).toEqual([
    '10.64.98.54',
  ]);
});

test('allocates an ascending block from the base address', () => {
  const block = planAllocation(experiment, { kind: 'block', start: ip('10.64.98.100'), count: 5 }, none);
  expect(block.map(formatIpv4)).toEqual([
    '10.64.98.100',
    '10.64.98.101',
    '10.64.98.102',
    '10.64.98.103',
    '10.64.98.104',
  ]);
});

test('a block that does not fit names the first address in the way', () => {
  const taken = new Set([ip('10.64.98.103'), ip('10.64.98.102')]);
  const attempt = () =>
    planAllocation(experiment, { kind: 'block', start: ip('10.64.98.100'), count: 5 }, taken);
  expect(attempt).toThrow(AddressConflictError);
  expect(attempt).toThrow(expect.objectContaining({ extensions: { firstConflict: '10.64.98.102' } }));
  const overExclusion = () =>
    planAllocation(experiment, { kind: 'block', start: ip('10.64.98.58'), count: 4 }, none);
  expect(overExclusion).toThrow(expect.objectContaining({ extensions: { firstConflict: '10.64.98.60' } }));
  const pastEnd = () =>
    planAllocation(experiment, { kind: 'block', start: ip('10.64.98.238'), count: 5 }, none);
  expect(pastEnd).toThrow(ConflictError);
});

test('a next block finds the lowest contiguous run', () => {
  const taken = new Set([ip('10.64.98.54')]);
  expect(planAllocation(experiment, { kind: 'next', count: 3 }, taken).map(formatIpv4)).toEqual([
    '10.64.98.55',
    '10.64.98.56',
    '10.64.98.57',
  ]);
});

test('bad requests are 422 naming the field; taken addresses 409', () => {
  expect(() => planAllocation(experiment, { kind: 'address', ip: ip('10.64.98.10') }, none)).toThrow(
    InvalidError,
  );
  expect(() => planAllocation(experiment, { kind: 'address', ip: ip('10.64.98.60') }, none)).toThrow(
    /reserved/,
  );
  expect(() => planAllocation(experiment, { kind: 'next', count: 1000 }, none)).toThrow(
    expect.objectContaining({
      errors: [{ path: 'body.count', message: expect.stringMatching(/more than/) }],
    }),
  );
  expect(() =>
    planAllocation(experiment, { kind: 'address', ip: ip('10.64.98.70') }, new Set([ip('10.64.98.70')])),
  ).toThrow(AddressConflictError);
});
