import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { ConflictError, createHttpApp, defineRoute, Readiness } from '../../src/http';
import {
  createKeyAuthenticator,
  loadOrCreateLocalKey,
  signLocalToken,
  type LocalSigningKey,
} from '../../src/auth';
import { createLogger } from '../../src/log/logger';

const verify = { issuer: 'testbed-local', audience: 'testbed' };
let server: http.Server;
let base: string;
let key: LocalSigningKey;
const readiness = new Readiness();

const routes = [
  defineRoute({
    method: 'post',
    path: '/v1/things/:name',
    summary: 'create a thing',
    roles: ['operator'],
    params: z.object({ name: z.string().regex(/^[a-z]+$/, 'lower-case letters only') }),
    body: z.object({ count: z.number().int().min(1, 'at least 1'), ip: z.ipv4().optional() }),
    responses: { 201: { description: 'created', schema: z.object({ name: z.string(), count: z.number() }) } },
    handler: async ({ params, body }) => {
      if (params.name === 'taken') throw new ConflictError('thing taken', { conflictingAddress: '10.0.0.1' });
      return { status: 201, body: { name: params.name, count: body.count } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/whoami',
    summary: 'who is calling',
    responses: { 200: { description: 'the principal' } },
    handler: async ({ principal }) => ({ status: 200, body: principal }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/boom',
    summary: 'fails',
    roles: 'public',
    responses: { 200: { description: 'never' } },
    handler: async () => {
      throw new Error('secret internal detail at /etc/passwd');
    },
  }),
];

beforeAll(async () => {
  key = await loadOrCreateLocalKey(fs.mkdtempSync(path.join(os.tmpdir(), 'kit-auth-')));
  const { app } = createHttpApp({
    name: 'kit-test',
    logger: createLogger({ name: 'kit-test', level: 'silent' }),
    metrics: new Registry(),
    readiness,
    authenticator: createKeyAuthenticator(key.publicKey, verify),
    routes,
  });
  server = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const tokenFor = (subject: string, role: 'user' | 'operator' | 'service') =>
  signLocalToken(key, { subject, role, ...verify });

async function post(pathname: string, body: unknown, token?: string) {
  const res = await fetch(base + pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

test('answers a valid request through auth, validation and the handler', async () => {
  const { res, json } = await post('/v1/things/abc', { count: 2 }, await tokenFor('alice', 'operator'));
  expect(res.status).toBe(201);
  expect(json).toEqual({ name: 'abc', count: 2 });
  expect(res.headers.get('x-request-id')).toMatch(/.+/);
});

test('bad input is a 422 problem naming every wrong field', async () => {
  const { res, json } = await post(
    '/v1/things/ABC',
    { count: 0, ip: '10.0.0.300' },
    await tokenFor('a', 'operator'),
  );
  expect(res.status).toBe(422);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(json.type).toMatch(/validation-failed$/);
  const paths = (json.errors as { path: string; message: string }[]).map((e) => e.path).sort();
  expect(paths).toEqual(['body.count', 'body.ip', 'params.name']);
  expect(json.errors).toContainEqual({ path: 'body.count', message: 'at least 1' });
});

test('malformed JSON is a 400 problem, not a stack trace', async () => {
  const { res, json } = await post('/v1/things/abc', '{"count": ', await tokenFor('a', 'operator'));
  expect(res.status).toBe(400);
  expect(json.errors).toEqual([{ path: 'body', message: 'not valid JSON' }]);
});

test('a domain conflict is a 409 with its facts', async () => {
  const { res, json } = await post('/v1/things/taken', { count: 1 }, await tokenFor('a', 'operator'));
  expect(res.status).toBe(409);
  expect(json).toMatchObject({ status: 409, detail: 'thing taken', conflictingAddress: '10.0.0.1' });
});

test('no token is 401, a wrong role 403, a forged token 401', async () => {
  expect((await post('/v1/things/abc', { count: 1 })).res.status).toBe(401);
  expect((await post('/v1/things/abc', { count: 1 }, await tokenFor('bob', 'user'))).res.status).toBe(403);
  const other = await loadOrCreateLocalKey(fs.mkdtempSync(path.join(os.tmpdir(), 'kit-auth-other-')));
  const forged = await signLocalToken(other, { subject: 'mallory', role: 'operator', ...verify });
  const { res, json } = await post('/v1/things/abc', { count: 1 }, forged);
  expect(res.status).toBe(401);
  expect(json.detail).toMatch(/signature/);
});

test('the principal comes from the token', async () => {
  const res = await fetch(`${base}/v1/whoami`, {
    headers: { authorization: `Bearer ${await tokenFor('carol', 'service')}` },
  });
  expect(await res.json()).toEqual({ subject: 'carol', role: 'service' });
});

test('an unexpected error is a 500 problem that leaks nothing', async () => {
  const res = await fetch(`${base}/v1/boom`);
  const text = await res.text();
  expect(res.status).toBe(500);
  expect(text).not.toMatch(/passwd|at .*\.ts/);
});

test('unknown routes are 404 problems', async () => {
  const res = await fetch(`${base}/v1/nothing`);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/problem\+json/);
});

test('a known path asked with a method it does not have is a 405 naming the methods it has', async () => {
  for (const method of ['DELETE', 'PATCH', 'PUT']) {
    const res = await fetch(`${base}/v1/things/abc`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('OPTIONS, POST');
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 405, detail: expect.stringContaining('POST') });
  }
  const get = await fetch(`${base}/v1/whoami`, { method: 'POST' });
  expect([get.status, get.headers.get('allow')]).toEqual([405, 'GET, HEAD, OPTIONS']);
  const options = await fetch(`${base}/v1/whoami`, { method: 'OPTIONS' });
  expect([options.status, options.headers.get('allow')]).toEqual([204, 'GET, HEAD, OPTIONS']);
  // A path no route has stays a 404, whatever the method.
  expect((await fetch(`${base}/v1/nothing/here`, { method: 'DELETE' })).status).toBe(404);
});

test('health, readiness, metrics and the OpenAPI document', async () => {
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(503);
  readiness.markReady();
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toContain('http_request_duration_seconds_bucket');
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
    openapi: string;
    paths: Record<
      string,
      Record<string, { parameters: { name: string; in: string }[]; requestBody?: unknown }>
    >;
  };
  expect(doc.openapi).toBe('3.1.0');
  const create = doc.paths['/v1/things/{name}']?.post;
  expect(create?.parameters).toContainEqual(expect.objectContaining({ name: 'name', in: 'path' }));
  expect(JSON.stringify(create?.requestBody)).toContain('"count"');
  expect((await fetch(`${base}/docs`)).status).toBe(200);
  expect((await fetch(`${base}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  readiness.markStopping();
  expect((await fetch(`${base}/readyz`)).status).toBe(503);
});

test('before the routes are mounted the API answers 503 starting, while health answers', async () => {
  const { app, mountRoutes } = createHttpApp({
    name: 'late',
    logger: createLogger({ name: 'late', level: 'silent' }),
    metrics: new Registry(),
    readiness: new Readiness(),
    authenticator: createKeyAuthenticator(key.publicKey, verify),
  });
  const late = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => late.once('listening', r));
  const url = `http://127.0.0.1:${(late.address() as AddressInfo).port}`;
  try {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const early = await fetch(`${url}/v1/whoami`);
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    mountRoutes(routes);
    const res = await fetch(`${url}/v1/whoami`, {
      headers: { authorization: `Bearer ${await tokenFor('dan', 'user')}` },
    });
    expect(res.status).toBe(200);
  } finally {
    await new Promise((r) => late.close(r));
  }
});

test('while starting, readiness names the step and asks no dependency; once ready it asks them all', async () => {
  const steps = new Readiness();
  let asked = 0;
  steps.add({ name: 'database', check: async () => void (asked += 1) });
  steps.starting('connecting to the bus');
  expect(await steps.report()).toEqual({
    ready: false,
    checks: { lifecycle: { ok: false, error: 'starting: connecting to the bus' } },
  });
  expect(asked).toBe(0);
  steps.markReady();
  expect(await steps.report()).toEqual({ ready: true, checks: { database: { ok: true } } });
  expect(asked).toBe(1);
  steps.markStopping();
  expect(await steps.report()).toEqual({
    ready: false,
    checks: { lifecycle: { ok: false, error: 'stopping' } },
  });
  expect(asked).toBe(1);
});
