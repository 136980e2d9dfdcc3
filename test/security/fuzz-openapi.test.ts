/**
 * Fuzzing from the API's own contract: the embedded default's merged OpenAPI document (every
 * service, one process, PGlite) drives fast-check to random and malformed path parameters,
 * queries, bodies, content types and tokens on every operation. No answer may be a 5xx, every
 * error must be an RFC 9457 problem of the status it was sent with, a success must be a status
 * the document names, and the process must still be ready afterwards.
 *
 * No packet leaves the machine: no node is reachable (the local node is off) and every Docker
 * host a body names is pinned to a closed loopback port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadOrCreateLocalKey, ROLES, signLocalToken } from '@testbed/kit';
import { embeddedConfigSchema } from '../../services/embedded/src/config';
import { startEmbedded, type EmbeddedPlatform } from '../../services/embedded/src/start-embedded';
import { arbitraryOf, hostileString, type JsonSchema } from './support/schema-arbitrary';
import {
  fillPath,
  operationsOf,
  send,
  type OpenApiDocument,
  type Operation,
} from './support/openapi-operations';

/** At least 20,000 requests in all, spread evenly over the operations. */
const TOTAL_REQUESTS = Math.max(20_000, Number(process.env.FUZZ_REQUESTS ?? 0));
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Bounded: the whole fuzz stops after this long, and says how many requests it made. */
const BUDGET_MS = 12 * 60_000;
/** Requests in flight at once (fast-check draws them; a small pool sends them). */
const PARALLEL = 8;

let platform: EmbeddedPlatform;
let dataDir: string;
let url: string;
let doc: OpenApiDocument;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-openapi-'));
  const config = embeddedConfigSchema.parse({
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: 'pglite://memory',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PROVISIONING_LOCAL_NODE: 'false',
    STATS_LOCAL_AGENT: 'false',
    QUOTA_KNOWN_NODES: 'node1',
  });
  platform = await startEmbedded(config);
  url = platform.host.url;
  await ready();
  doc = (await (await fetch(`${url}/v1/openapi.json`)).json()) as OpenApiDocument;

  const key = await loadOrCreateLocalKey(dataDir);
  const claims = { issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE };
  for (const role of ROLES)
    tokens[role] = await signLocalToken(key, { subject: `fuzz-${role}`, role, ...claims });
  tokens.other = await signLocalToken(key, { subject: 'fuzz-other', role: 'user', ...claims });
  tokens.expired = await new SignJWT({ role: 'operator' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject('fuzz-expired')
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(key.privateKey);
  const stranger = await generateKeyPair('ES256');
  tokens.strangerKey = await new SignJWT({ role: 'operator' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject('fuzz-stranger')
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setExpirationTime('1h')
    .sign(stranger.privateKey);
  tokens.algNone = unsignedToken({ sub: 'fuzz-none', role: 'operator', ...claimsOf(claims) });
  tokens.embeddedJwk = unsignedToken(
    { sub: 'fuzz-jwk', role: 'operator', ...claimsOf(claims) },
    { alg: 'ES256', jwk: await exportJWK(stranger.publicKey) },
  );
}, 120_000);

afterAll(async () => {
  await platform?.host.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function claimsOf(c: { issuer: string; audience: string }) {
  return { iss: c.issuer, aud: c.audience, exp: Math.floor(Date.now() / 1000) + 3600 };
}

function unsignedToken(payload: object, header: object = { alg: 'none', typ: 'JWT' }): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.`;
}

async function ready(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await fetch(`${url}/readyz`).catch(() => undefined);
    if (r?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the platform never became ready');
}

/** Percent-encodes a string's UTF-8 bytes (a lone surrogate too, as U+FFFD: URLs carry bytes). */
function pct(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8'))
    out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** Over the 1 MB body limit: a 413 problem, not a crash. */
const OVERSIZED = JSON.stringify({ a: 'x'.repeat(1_100_000) });

/** The node registration's Docker host and TLS files: loopback only, no file of the machine. */
const PINNED = { dockerHost: 'tcp://127.0.0.1:9', tls: undefined };

function authorization(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom('user', 'operator', 'service', 'other').map((r) => `Bearer ${tokens[r]}`),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('expired', 'strangerKey', 'algNone', 'embeddedJwk')
        .map((r) => `Bearer ${tokens[r]}`),
    },
    fc.constant(undefined),
    hostileString.map((s) => `Bearer ${s}`),
    hostileString,
    fc.constantFrom('Bearer', 'Basic dXNlcjpwYXNz', `bearer  ${'A'.repeat(9000)}`, 'Bearer a.b.c'),
  );
}

function encodedPathValue(schema: JsonSchema): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: arbitraryOf(schema, { hostility: 0 }).map((v) => pct(String(v))) },
    { weight: 2, arbitrary: hostileString.map((s) => pct(s)) },
    // Raw, not encoded: broken percent escapes and separators Express must survive.
    fc.constantFrom('%', '%zz', '%E0%A4%A', '%FF%FE', '..', '.', '%2F..%2F', '%00', 'a%2Fb'),
  );
}

function queryOf(op: Operation): fc.Arbitrary<string> {
  const params = op.parameters.filter((p) => p.in === 'query');
  const entries = params.map((p) =>
    fc
      .option(
        fc.oneof(
          { weight: 4, arbitrary: arbitraryOf(p.schema, { hostility: 0.2 }) },
          fc.array(hostileString, { minLength: 2, maxLength: 3 }),
        ),
        { freq: 2 },
      )
      .map((v) => [p.name, v] as const),
  );
  return fc
    .tuple(fc.tuple(...entries), fc.dictionary(hostileString, hostileString, { maxKeys: 2 }), fc.boolean())
    .map(([known, unknown, raw]) => {
      const parts: string[] = [];
      const add = (k: string, v: unknown) => {
        for (const one of Array.isArray(v) ? v : [v])
          parts.push(`${pct(k)}=${pct(typeof one === 'object' ? JSON.stringify(one) : String(one))}`);
      };
      for (const [k, v] of known) if (v !== null) add(k, v);
      for (const [k, v] of Object.entries(unknown)) add(k, v);
      if (raw) parts.push('%E0%A4%A=1', 'a[b]=c', 'x=%');
      return parts.length ? `?${parts.join('&')}` : '';
    });
}

function bodyOf(op: Operation): fc.Arbitrary<{ body?: string | Uint8Array; contentType?: string }> {
  if (!op.body)
    return fc
      .option(hostileString, { freq: 4 })
      .map((b) => (b === null ? {} : { body: b, contentType: 'application/json' }));
  if ('raw' in op.body) {
    const type = op.body.raw;
    return fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((b) => ({ body: b, contentType: type })),
      fc.constant({ body: new Uint8Array(1024), contentType: type }),
      fc.constant({}),
    );
  }
  const schema = op.body.json;
  const components = doc.components?.schemas;
  return fc.oneof(
    {
      weight: 6,
      arbitrary: arbitraryOf(schema, { components, hostility: 0.1, pinned: PINNED }).map((v) => ({
        body: JSON.stringify(v ?? null),
        contentType: 'application/json',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{',
          '{"a":',
          '[1,2',
          'nul',
          '\u0000',
          '{"__proto__":{"x":1}}',
          '1'.repeat(5000),
          OVERSIZED,
        )
        .map((b) => ({ body: b, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          arbitraryOf(schema, { components, hostility: 0, pinned: PINNED }),
          fc.constantFrom(
            'text/plain',
            'application/xml',
            'application/json; charset=latin1',
            'multipart/form-data',
          ),
        )
        .map(([v, contentType]) => ({ body: JSON.stringify(v), contentType })),
    },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

function requestsOf(op: Operation): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const pathValues = fc.record(
    Object.fromEntries(pathParams.map((p) => [p.name, encodedPathValue(p.schema)])),
  );
  return fc
    .tuple(
      pathValues,
      queryOf(op),
      bodyOf(op),
      authorization(),
      fc.option(hostileString.filter((s) => /^[\x21-\x7e]{1,40}$/.test(s))),
    )
    .map(([values, query, body, auth, requestId]) => {
      const headers: Record<string, string> = {};
      if (auth !== undefined) headers.authorization = auth;
      if (body.contentType) headers['content-type'] = body.contentType;
      if (requestId) headers['x-request-id'] = requestId;
      // fetch sends no body with GET or HEAD; a header value goes as the bytes of its UTF-8.
      for (const [k, v] of Object.entries(headers))
        headers[k] = Buffer.from(v, 'utf8')
          .toString('latin1')
          // What fetch itself refuses to send (control characters, edge whitespace) never reaches a server.
          // eslint-disable-next-line no-control-regex
          .replace(/[\x00-\x1f\x7f]/g, '')
          .trim();
      const withBody = op.method !== 'GET' && op.method !== 'HEAD';
      return {
        method: op.method,
        path: fillPath(op.path, values) + query,
        headers,
        body: withBody ? body.body : undefined,
      };
    });
}

interface Finding {
  request: string;
  status: number;
  why: string;
}

/** What an answer must be, whatever was asked: never a 5xx; an error is a problem of its own status. */
function check(op: Operation, status: number, contentType: string, text: string): string | undefined {
  if (status >= 500) return `a ${status}: ${text.slice(0, 300)}`;
  if (status >= 400) {
    if (!contentType.startsWith('application/problem+json')) return `an error of type '${contentType}'`;
    let problem: { type?: unknown; title?: unknown; status?: unknown };
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      return 'a problem that is not JSON';
    }
    if (problem.status !== status) return `a problem of status ${String(problem.status)} sent as ${status}`;
    if (typeof problem.type !== 'string' || typeof problem.title !== 'string')
      return 'a problem without type or title';
    return undefined;
  }
  if (!op.statuses.includes(String(status))) return `an undocumented success ${status}`;
  return undefined;
}

const describeRequest = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 200)} auth=${(r.headers.authorization ?? '-').slice(0, 40)} type=${r.headers['content-type'] ?? '-'} body=${
    typeof r.body === 'string' ? r.body.slice(0, 300) : r.body ? `<${r.body.length} bytes>` : '-'
  }`;

test(
  'every operation of the merged OpenAPI document survives random and malformed requests',
  async () => {
    const operations = operationsOf(doc, ROLES);
    expect(operations.length).toBeGreaterThan(50);
    const perOperation = Math.ceil(TOTAL_REQUESTS / operations.length);
    const started = Date.now();
    const findings: Finding[] = [];
    const byStatus = new Map<number, number>();
    let sent = 0;
    const timings: [string, number][] = [];

    for (const [index, op] of operations.entries()) {
      if (Date.now() - started > BUDGET_MS) break;
      const requests = fc.sample(requestsOf(op), { numRuns: perOperation, seed: SEED + index });
      let next = 0;
      const worker = async () => {
        while (next < requests.length && Date.now() - started < BUDGET_MS) {
          const r = requests[next++]!;
          let answer: Awaited<ReturnType<typeof send>>;
          try {
            answer = await send(url + r.path, { method: r.method, headers: r.headers, body: r.body });
          } catch (err) {
            findings.push({ request: describeRequest(r), status: 0, why: `no answer: ${String(err)}` });
            continue;
          }
          sent++;
          byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
          const why = check(op, answer.status, answer.contentType, answer.text);
          if (why) findings.push({ request: describeRequest(r), status: answer.status, why });
        }
      };
      const opStarted = Date.now();
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      timings.push([`${op.method} ${op.path}`, Date.now() - opStarted]);
    }
    const slowest = timings
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
      .join(', ');

    const seconds = (Date.now() - started) / 1000;
    const statuses = [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    console.log(
      `fuzz: ${sent} requests over ${operations.length} operations in ${seconds.toFixed(1)} s (seed ${SEED}); statuses ${statuses}; findings ${findings.length}; slowest ${slowest}`,
    );
    expect(findings.slice(0, 20)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(TOTAL_REQUESTS);

    // Still itself afterwards: ready, and answering a plain request.
    const after = await fetch(`${url}/readyz`);
    expect(after.status).toBe(200);
    const pools = await fetch(`${url}/v1/pools`, { headers: { authorization: `Bearer ${tokens.user}` } });
    expect(pools.status).toBe(200);
  },
  15 * 60_000,
);
