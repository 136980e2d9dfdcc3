/** provisioning's rules without I/O: Docker answers by their meaning, a create's outcome, request ids. */
import { RecordedProblemError } from '@testbed/kit';
import { DockerCallError } from '../src/docker/deadline';
import { createOutcome, type CreatedItem } from '../src/domain/create-outcome';
import {
  admissionId,
  allocationId,
  interfaceRequestId,
  parseAdmissionId,
  parseAllocationId,
  parseInterfaceRequestId,
  parseResizeRequestId,
  resizeRequestId,
} from '../src/domain/request-ids';
import { addressChange, addressesHeld, poolHolding } from '../src/domain/interface-addresses';
import { operationProblem } from '../src/http/answer-operation';
import type { OperationRecord } from '../src/domain/operation-work';

describe('a Docker answer is our answer by its meaning', () => {
  const of = (err: unknown) => DockerCallError.of('node1', 'get archive /x', err);
  test.each([
    [{ statusCode: 404, json: { message: 'Could not find the file /x' } }, 404, 'not-found'],
    [{ statusCode: 409, json: { message: 'container is not running' } }, 409, 'conflict'],
    [{ statusCode: 400, json: { message: 'bad parameter' } }, 400, 'bad-request'],
    [{ statusCode: 500, json: { message: 'driver failed' } }, 502, 'dependency-failed'],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      409,
      'node-unreachable',
    ],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 409, 'node-unreachable'],
    [Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), 504, 'dependency-timeout'],
  ])('%j → %i', (err, status, slug) => {
    const e = of(err);
    expect([e.status, e.slug]).toEqual([status, slug]);
    expect(e.message).toMatch(/^node node1: get archive \/x: /);
  });

  test('a deadline is a 504 naming the node; a daemon’s streamed refusal keeps its own words', () => {
    expect(new DockerCallError('n', 'pull x', 'no answer within 5 ms', undefined, 'timeout').status).toBe(
      504,
    );
    const e = of({ statusCode: 404, message: '(HTTP code 404) unexpected - manifest for x not found' });
    expect(e.daemonMessage).toBe('manifest for x not found');
  });

  test('a failed operation answers with the status its cause recorded, not always 503', () => {
    const op = (error: OperationRecord['error']) => ({ id: 'op-1', error }) as OperationRecord;
    for (const status of [404, 409, 422, 502, 503, 504]) {
      const p = operationProblem(op({ type: 'interface-failed', status, detail: 'why' }));
      expect(p).toBeInstanceOf(RecordedProblemError);
      expect([p.status, p.slug, p.extensions.code]).toEqual([status, 'interface-failed', 'interface-failed']);
    }
  });
});

describe('the outcome of a create', () => {
  const row = (state: string, node: string, error: string | null = null): CreatedItem => ({
    id: `${node}-${state}-${Math.random()}`,
    name: 'x',
    node,
    ip: `10.0.0.${Math.floor(Math.random() * 200)}`,
    state,
    error,
    removedAt: null,
  });

  test('all running: succeeded, no error; some failed: partially, naming each node’s first failure', () => {
    expect(createOutcome([row('running', 'a'), row('running', 'b')], false)).toMatchObject({
      state: 'succeeded',
      error: null,
      result: { succeeded: 2, failed: 0 },
    });
    const partial = createOutcome(
      [row('running', 'a'), row('error', 'b', 'down'), row('error', 'b', 'later')],
      false,
    );
    expect(partial).toMatchObject({
      state: 'partially_succeeded',
      error: { detail: 'b: down', nodes: { b: 'down' } },
    });
    expect(partial.failedIps).toHaveLength(2);
    expect(createOutcome([row('error', 'a', 'x')], false).state).toBe('failed');
  });

  test('cancelled, and containers a cancel could not remove are named in the error and the result', () => {
    const o = createOutcome([row('running', 'a'), row('error', 'a', 'cancelled')], true, [
      { containerId: 'c1', error: 'refused' },
    ]);
    expect(o.state).toBe('cancelled');
    expect(o.error).toMatchObject({ type: 'cancelled', status: 409, notRemoved: [{ containerId: 'c1' }] });
    expect(o.error!.detail).toMatch(/1 container\(s\) could not be removed and still run: c1: refused/);
    expect(o.result.notRemoved).toEqual([{ containerId: 'c1', error: 'refused' }]);
  });
});

test('request ids round-trip, and ids that are not provisioning’s are not taken for its own', () => {
  const id = '6f0c7a38-59e5-4a57-9c55-3c4f3b0b1e0a';
  expect(parseAdmissionId(admissionId(id, 'node-2'))).toEqual({ operationId: id, node: 'node-2' });
  expect(parseAllocationId(allocationId(id))).toBe(id);
  expect(parseAllocationId(admissionId(id, 'n'))).toBeUndefined();
  expect(parseInterfaceRequestId(interfaceRequestId(id))).toBe(id);
  expect(parseResizeRequestId(resizeRequestId(id))).toBe(id);
  expect(parseResizeRequestId(resizeRequestId(id, true))).toBeUndefined();
  expect(parseAdmissionId('someone-else')).toBeUndefined();
});

test('eth1’s addresses: the pool whose subnet holds an address, and what a change binds and releases', () => {
  const nets = { experiment: { subnet: '10.64.98.0/23' }, secondary: { subnet: '172.10.0.0/24' } };
  expect(poolHolding(nets, ['secondary', 'experiment'], '10.64.99.5')).toBe('experiment');
  expect(poolHolding(nets, ['secondary'], '10.64.99.5')).toBeUndefined();
  const before = addressesHeld(
    { secondaryIp: '10.64.98.70', secondaryPool: 'experiment', secondaryEndpointIp: '172.10.0.9' },
    'secondary',
  );
  expect(before).toEqual([
    { pool: 'experiment', ip: '10.64.98.70' },
    { pool: 'secondary', ip: '172.10.0.9' },
  ]);
  const after = addressesHeld(
    { secondaryIp: '172.10.0.9', secondaryPool: 'secondary', secondaryEndpointIp: null },
    'secondary',
  );
  expect(addressChange(before, after)).toEqual({
    released: [{ pool: 'experiment', ip: '10.64.98.70' }],
    added: [],
  });
});
