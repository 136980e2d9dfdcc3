/**
 * Bounded closed-loop load for benchmarks: `clients` loops each doing one call after another
 * until `total` calls are done, with every call's latency. HTTP calls go over keep-alive
 * connections of node:http (the global fetch costs several times the CPU per call, which on
 * two cores would measure the client rather than the service).
 */
import http from 'node:http';

export interface LoadResult {
  calls: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarise(latencies: number[], seconds: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    calls: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** Runs `total` calls of `op` from `clients` concurrent loops; bounded by count. */
export async function drive(
  clients: number,
  total: number,
  op: (n: number) => Promise<void>,
): Promise<LoadResult> {
  let next = 0;
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const n = next++;
        const t0 = process.hrtime.bigint();
        await op(n);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  return summarise(latencies, Number(process.hrtime.bigint() - started) / 1e9);
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** A keep-alive JSON client of one base URL, at most `sockets` connections. */
export function httpClient(base: string, headers: Record<string, string>, sockets = 64) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const request = (method: string, path: string, body?: unknown, timeoutMs = 30_000) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          agent,
          timeout: timeoutMs,
          headers: {
            ...headers,
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}
