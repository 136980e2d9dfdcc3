import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import {
  MalformedEventError,
  isRetriable,
  nonRetriable,
  NonRetriableError,
  parseCloudEvent,
} from '../../src/bus';
import { captureTraceHeaders, contextFromHeaders } from '../../src/bus/trace-context';
import { backoffDelay, retryPolicy } from '../../src/bus/retry';

// No SDK in this file: the bus must still speak W3C trace context.
describe('trace headers without a telemetry SDK', () => {
  it('writes and reads W3C traceparent', () => {
    const spanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    };
    const headers = captureTraceHeaders(trace.setSpanContext(ROOT_CONTEXT, spanContext));
    expect(headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(trace.getSpanContext(contextFromHeaders(headers))).toMatchObject({
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
      isRemote: true,
    });
  });
});

describe('parseCloudEvent', () => {
  const valid = {
    specversion: '1.0',
    id: 'e1',
    source: 'ipam',
    type: 'ipam.allocated',
    time: '2030-01-01T00:00:00Z',
    datacontenttype: 'application/json',
    data: { ip: '10.64.98.52' },
  };

  it('accepts a structured CloudEvent as text or value', () => {
    expect(parseCloudEvent(JSON.stringify(valid))).toEqual(valid);
    expect(parseCloudEvent({ ...valid, subject: 'pool-1' })).toEqual({ ...valid, subject: 'pool-1' });
  });

  it('names what is wrong with anything else, as a non-retriable error', () => {
    expect(() => parseCloudEvent('{')).toThrow(MalformedEventError);
    expect(() => parseCloudEvent({ ...valid, specversion: '0.3' })).toThrow(/specversion/);
    expect(() => parseCloudEvent({ ...valid, id: '' })).toThrow(/id/);
    expect(isRetriable(new MalformedEventError('x'))).toBe(false);
  });
});

describe('retriable errors', () => {
  it('treats unknown errors as retriable and honours retriable: false', () => {
    expect(isRetriable(new Error('boom'))).toBe(true);
    expect(isRetriable(Object.assign(new Error('kafkajs'), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('kafkajs'), { retriable: false }))).toBe(false);
    expect(isRetriable(new NonRetriableError('no such pool'))).toBe(false);
    const marked = nonRetriable(new RangeError('bad address'));
    expect(marked).toBeInstanceOf(RangeError);
    expect(isRetriable(marked)).toBe(false);
  });

  it('backs off exponentially up to the cap', () => {
    const p = retryPolicy({ attempts: 6, initialDelayMs: 100, maxDelayMs: 500 });
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(p, a))).toEqual([100, 200, 400, 500, 500]);
    expect(() => retryPolicy({ attempts: 0 })).toThrow(RangeError);
  });
});
