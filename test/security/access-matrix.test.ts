/**
 * The access matrix, generated from the merged OpenAPI document of the embedded default (every
 * service in one process, the rig's Postgres and node1): for every operation, every token that
 * is no identity here (none, expired, another key's, `alg: none`, a key of its own in the header,
 * another audience, a revoked API token) gets 401; a role the operation does not name (its
 * `x-roles`) gets 403; user alice on user bob's container, batch, operation, reservation, network,
 * address, files, logs and stats gets 403 or 404 and never bob's data, while bob and an operator
 * get them. Afterwards bob's resources are as they were. A new operation is in the matrix the
 * moment it is in the document; one that changes bob's resources needs a valid body below, and
 * the test fails until it has one (a 400 proves nothing about access).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadOrCreateLocalKey, ROLES, type Role } from '@testbed/kit';
import { SSHD_CAPABILITIES } from '@testbed/provisioning/src/docker/container-spec';
import { startPortalPlatform, until, type PortalPlatform } from '../browser/support/platform';
import { fillPath, operationsOf, type OpenApiDocument, type Operation } from './support/openapi-operations';

const NODE = 'node1';
let rig: PortalPlatform;
let doc: OpenApiDocument;
let operations: Operation[];

interface BobsThings {
  container: { id: string; name: string; ip: string };
  operationId: string;
  batch: { id: string; prefix: string };
  reservation: string;
  network: string;
}
let bob: BobsThings;

const at = (hours: number) => new Date(Date.now() + hours * 3600_000).toISOString();

beforeAll(async () => {
  rig = await startPortalPlatform({
    name: 'access-matrix',
    range: '10.64.99.50-10.64.99.59',
    secondaryRange: '172.10.0.230-172.10.0.234',
    nodes: [NODE],
    env: {
      PROVISIONING_POOL_NETWORKS:
        'experiment=10.64.98.0/23@10.64.98.1,secondary=172.10.0.0/24@172.10.0.1,matrix=172.12.0.0/24@172.12.0.1',
    },
  });
  doc = (await (await fetch(`${rig.url}/v1/openapi.json`)).json()) as OpenApiDocument;
  operations = operationsOf(doc, ROLES);

  const asBob = (p: string, init: RequestInit = {}) => rig.call('bob', 'user', p, init);
  const suffix = rig.platformId.slice(-6);
  const created = await asBob('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    // Not the range's first address: that one is in every pool answer, bob's or not.
    body: JSON.stringify({
      node: NODE,
      name: `bob-c-${suffix}`,
      image: 'testbed/busybox',
      ip: '10.64.99.53',
    }),
  });
  const op = (await created.json()) as {
    id: string;
    state: string;
    items: { containerId: string }[];
  };
  if (op.state !== 'succeeded') throw new Error(`bob's container: ${JSON.stringify(op)}`);
  const c = (await (await asBob(`/v1/containers/${op.items[0]!.containerId}`)).json()) as {
    id: string;
    name: string;
    interfaces: { ip: string }[];
  };
  const batchRes = await asBob('/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    body: JSON.stringify({
      namePrefix: `bob-b-${suffix}`,
      count: 1,
      image: 'testbed/busybox',
      nodes: [NODE],
    }),
  });
  const batchOp = (await batchRes.json()) as { id: string; request: { batchId: string } };
  const batch = { id: batchOp.request?.batchId };
  if (batchRes.status >= 300 || !batch.id) throw new Error(`bob's batch: ${JSON.stringify(batchOp)}`);
  const reservation = await asBob('/v1/reservations', {
    method: 'POST',
    body: JSON.stringify({ user: 'bob', nodes: [NODE], start: at(48), end: at(49) }),
  });
  if (reservation.status !== 201) throw new Error(`bob's reservation: ${await reservation.text()}`);
  // A pool for user networks (an address range no other test file uses on node1), then bob's network.
  const pool = await rig.call('ops', 'operator', '/v1/pools', {
    method: 'POST',
    body: JSON.stringify({
      name: 'matrix',
      cidr: '172.12.0.0/24',
      rangeStart: '172.12.0.10',
      rangeEnd: '172.12.0.20',
      gateway: '172.12.0.1',
      segment: 'matrix',
    }),
  });
  if (pool.status !== 201) throw new Error(`the matrix pool: ${await pool.text()}`);
  const network = await asBob('/v1/networks', {
    method: 'POST',
    body: JSON.stringify({ name: `bob-n-${suffix}`, pool: 'matrix', nodes: [NODE] }),
  });
  if (network.status !== 201) throw new Error(`bob's network: ${await network.text()}`);
  if (!c.interfaces?.length) throw new Error(`bob's container: ${JSON.stringify({ op, c })}`);
  bob = {
    container: { id: c.id, name: c.name, ip: c.interfaces[0]!.ip },
    operationId: op.id,
    batch: { id: batch.id, prefix: `bob-b-${suffix}` },
    reservation: ((await reservation.json()) as { id: string }).id,
    network: `bob-n-${suffix}`,
  };
}, 240_000);

afterAll(async () => {
  // The network is a Docker network on node1: removed before the platform goes (containers first).
  if (bob) {
    await rig
      .call('bob', 'user', `/v1/containers/${bob.container.id}?force=true`, { method: 'DELETE' })
      .catch(() => undefined);
    await rig.call('bob', 'user', `/v1/batches/${bob.batch.id}`, { method: 'DELETE' }).catch(() => undefined);
    await until(
      async () =>
        (await rig.call('bob', 'user', `/v1/networks/${bob.network}`, { method: 'DELETE' })).status === 204,
      60_000,
      "bob's network to be removed",
    ).catch(() => undefined);
  }
  // Whatever the API did not remove (a failed start): straight from the daemon.
  if (rig) await rig.dockers[NODE]!.removeNetwork(`bob-n-${rig.platformId.slice(-6)}`).catch(() => undefined);
  await rig?.stop();
});

/** Bob's resource behind each path parameter, by the path it is in. */
function bobsValues(op: Operation): Record<string, string> {
  const id = op.path.startsWith('/v1/batches')
    ? bob.batch.id
    : op.path.startsWith('/v1/operations')
      ? bob.operationId
      : op.path.startsWith('/v1/reservations')
        ? bob.reservation
        : op.path.startsWith('/v1/tokens')
          ? '00000000-0000-4000-8000-000000000000'
          : bob.container.id;
  return {
    id,
    pool: 'experiment',
    ip: bob.container.ip,
    user: 'bob',
    node: NODE,
    name: bob.network,
    ifname: 'eth1',
  };
}

/** Path parameters that name something of bob's (a node or a pool is everyone's). */
const BOBS_PARAMS = new Set(['id', 'ip', 'user', 'name', 'ifname']);
const namesBobs = (op: Operation) =>
  op.parameters.some((p) => p.in === 'path' && BOBS_PARAMS.has(p.name)) && !op.path.startsWith('/v1/tokens');

let tarBody: Uint8Array | undefined;
function aTar(): Uint8Array {
  if (!tarBody) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-tar-'));
    fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
    tarBody = execFileSync('tar', ['-C', dir, '-cf', '-', 'hello.txt']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return tarBody;
}

/** A body each changing operation accepts, so what answers is the access rule, not validation. */
function validBody(op: Operation): { body?: string | Uint8Array; type?: string; query?: string } | undefined {
  const key = `${op.method} ${op.path}`;
  const bodies: Record<string, () => { body?: string | Uint8Array; type?: string; query?: string }> = {
    'PATCH /v1/containers/{id}': () => ({ body: JSON.stringify({ cpuMillis: 200 }) }),
    'PUT /v1/containers/{id}/files': () => ({ body: aTar(), type: 'application/x-tar', query: '?path=/tmp' }),
    'GET /v1/containers/{id}/files': () => ({ query: '?path=/etc/hostname' }),
    'POST /v1/containers/{id}/interfaces': () => ({ body: JSON.stringify({ pool: 'secondary' }) }),
    'PATCH /v1/containers/{id}/interfaces/{ifname}': () => ({ body: JSON.stringify({ ip: '10.64.99.58' }) }),
    'PATCH /v1/reservations/{id}': () => ({ body: JSON.stringify({ end: at(50) }) }),
    'PATCH /v1/pools/{pool}/allocations/{ip}': () => ({ body: JSON.stringify({ state: 'released' }) }),
    'PUT /v1/users/{user}/quota': () => ({ body: JSON.stringify({ maxContainers: 1 }) }),
    // Acting in bob's name without a path parameter of his.
    'POST /v1/reservations': () => ({
      body: JSON.stringify({ user: 'bob', nodes: [NODE], start: at(60), end: at(61) }),
    }),
    'POST /v1/pools/{pool}/allocations': () => ({ body: JSON.stringify({ owner: 'bob' }) }),
    'GET /v1/containers': () => ({ query: '?owner=bob' }),
    'GET /v1/operations': () => ({ query: '?owner=bob' }),
    'GET /v1/reservations': () => ({ query: '?user=bob' }),
    'GET /v1/pools/{pool}/allocations': () => ({ query: '?owner=bob' }),
  };
  return bodies[key]?.();
}

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** One request; an event stream is read until its first event (or 3 s) and cut. */
async function ask(
  op: Operation,
  values: Record<string, string>,
  auth: string | undefined,
  extra = validBody(op),
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = `Bearer ${auth}`;
  if (extra?.body) headers['content-type'] = extra.type ?? 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 20_000);
  try {
    const res = await fetch(rig.url + fillPath(op.path, values) + (extra?.query ?? ''), {
      method: op.method,
      headers,
      body: op.method === 'GET' ? undefined : extra?.body,
      signal: ctl.signal,
    });
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('text/event-stream')) {
      const reader = res.body!.getReader();
      let text = '';
      const until3s = Date.now() + 3000;
      while (!text.includes('\n\n') && Date.now() < until3s) {
        const chunk = await Promise.race([
          reader.read(),
          new Promise<null>((r) => setTimeout(() => r(null), 500)),
        ]);
        if (chunk?.value) text += Buffer.from(chunk.value).toString();
        if (chunk?.done) break;
      }
      ctl.abort();
      return { status: res.status, type, text };
    }
    return { status: res.status, type, text: await res.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** Bob's data in an answer: the markers that are not already in what alice sent. */
function leaks(answer: Answer, sentPath: string): string[] {
  let text = answer.text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    delete parsed.instance;
    text = JSON.stringify(parsed);
  } catch {
    // Not JSON (an event stream): searched as it is.
  }
  // A node's calendar is the testbed's shared one: it shows that a window is booked and by which
  // reservation (an id, no user, no purpose), so anyone can book around it.
  const shared = /\/availability(\?|$)/.test(sentPath) ? [bob.reservation] : [];
  const markers = [
    bob.container.id,
    bob.container.name,
    bob.container.ip,
    bob.batch.id,
    bob.batch.prefix,
    bob.reservation,
    bob.network,
    bob.operationId,
  ];
  return markers.filter((m) => !shared.includes(m) && !sentPath.includes(m) && text.includes(m));
}

const isProblem = (a: Answer, status: number) =>
  a.type.startsWith('application/problem+json') &&
  (JSON.parse(a.text) as { status: number }).status === status;

async function badTokens(): Promise<Record<string, string>> {
  const key = await generateKeyPair('ES256');
  const good = await rig.token('alice', 'operator');
  const [header] = good.split('.');
  const { kid } = JSON.parse(Buffer.from(header!, 'base64url').toString()) as { kid: string };
  const claims = { role: 'operator' };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const goodClaims = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()) as {
    iss: string;
    aud: string;
  };
  const signed = (aud: string, expSeconds: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject('alice')
      .setIssuer(goodClaims.iss)
      .setAudience(aud)
      .setExpirationTime(expSeconds);
  return {
    expired: await rigToken('alice', 'operator', -120),
    'another key': await signed(goodClaims.aud, exp).sign(key.privateKey),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', role: 'operator', iss: goodClaims.iss, aud: goodClaims.aud, exp })}.`,
    'its own key in the header': `${b64({ alg: 'ES256', jwk: await exportJWK(key.publicKey) })}.${b64({ sub: 'alice', role: 'operator', iss: goodClaims.iss, aud: goodClaims.aud, exp })}.${Buffer.from('x').toString('base64url')}`,
    'another audience': await rigToken('alice', 'operator', 3600, 'another-service'),
    garbage: 'not-a-token',
  };
}

/** A token of the platform's own key with a chosen lifetime or audience. */
async function rigToken(subject: string, role: Role, ttlSeconds: number, audience?: string): Promise<string> {
  const good = await rig.token(subject, role);
  const payload = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()) as {
    iss: string;
    aud: string;
  };
  const key = await loadOrCreateLocalKey(rig.dataDir);
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject(subject)
    .setIssuer(payload.iss)
    .setAudience(audience ?? payload.aud)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key.privateKey);
}

test('the access matrix of every operation holds', async () => {
  const failures: string[] = [];
  let cases = 0;
  const expect401 = async (op: Operation, why: string, token: string | undefined) => {
    cases++;
    const a = await ask(op, bobsValues(op), token);
    if (a.status !== 401 || !isProblem(a, 401))
      failures.push(`${op.method} ${op.path} with ${why}: ${a.status} ${a.text.slice(0, 160)}`);
  };

  // 1. No identity here: 401 on every operation that is not public.
  const bad = await badTokens();
  const revoked = await revokedApiToken();
  for (const op of operations.filter((o) => !o.public)) {
    await expect401(op, 'no token', undefined);
    for (const [why, token] of Object.entries(bad)) await expect401(op, `a token of ${why}`, token);
    await expect401(op, 'a revoked API token', revoked);
  }

  // 2. A role the operation does not name: 403.
  const alice = await rig.token('alice', 'user');
  const service = await rig.token('portal', 'service');
  for (const op of operations.filter((o) => !o.public)) {
    for (const [role, token] of [
      ['user', alice],
      ['service', service],
    ] as const) {
      if (op.roles.includes(role)) continue;
      cases++;
      const a = await ask(op, bobsValues(op), token);
      if (a.status !== 403 || !isProblem(a, 403))
        failures.push(`${op.method} ${op.path} as a ${role}: ${a.status} ${a.text.slice(0, 160)}`);
    }
  }

  // 3. Alice on bob's things: 403 or 404 and none of his data; a list shows her none of his.
  const bobToken = await rig.token('bob', 'user');
  const operator = await rig.token('ops', 'operator');
  let owned = 0;
  for (const op of operations.filter((o) => !o.public && o.roles.includes('user'))) {
    const values = bobsValues(op);
    const extra = validBody(op);
    const needsBody = op.body !== undefined && !extra?.body;
    const namesBob = namesBobs(op) || extra !== undefined;
    if (namesBob && op.method !== 'GET' && needsBody) {
      failures.push(`${op.method} ${op.path} changes bob's things and has no valid body in the matrix`);
      continue;
    }
    cases++;
    const a = await ask(op, values, alice, extra);
    const sent = fillPath(op.path, values) + (extra?.query ?? '');
    const leaked = leaks(a, sent);
    if (leaked.length) failures.push(`${op.method} ${sent} as alice shows bob's ${leaked.join(', ')}`);
    if (namesBobs(op) || (extra && op.method !== 'GET')) {
      if (![403, 404].includes(a.status))
        failures.push(`${op.method} ${sent} as alice: ${a.status} ${a.text.slice(0, 160)}`);
    } else if (a.status >= 500) failures.push(`${op.method} ${sent} as alice: ${a.status}`);
    // The same read by bob and by an operator shows it: the refusal was the owner rule.
    if (op.method === 'GET' && namesBobs(op)) {
      owned++;
      for (const [who, token] of [
        ['bob', bobToken],
        ['an operator', operator],
      ] as const) {
        cases++;
        const own = await ask(op, values, token, extra);
        if (own.status !== 200)
          failures.push(`${op.method} ${sent} as ${who}: ${own.status} ${own.text.slice(0, 160)}`);
      }
    }
  }

  console.log(
    `access matrix: ${cases} cases over ${operations.length} operations (${owned} reads of bob's things); ${failures.length} failures`,
  );
  expect(failures).toEqual([]);
  expect(owned).toBeGreaterThanOrEqual(10);

  // Bob's things are as they were.
  const asBob = (p: string) => rig.call('bob', 'user', p);
  const c = (await (await asBob(`/v1/containers/${bob.container.id}`)).json()) as {
    state: string;
    cpuMillis: number;
  };
  expect(c.state).toBe('running');
  expect((await asBob(`/v1/reservations/${bob.reservation}`)).status).toBe(200);
  expect((await asBob(`/v1/networks/${bob.network}`)).status).toBe(200);
  expect((await asBob(`/v1/batches/${bob.batch.id}`)).status).toBe(200);
  const mine = (await (await asBob(`/v1/pools/experiment/allocations?owner=bob`)).json()) as {
    items: { ip: string }[];
  };
  expect(mine.items.map((i) => i.ip)).toContain(bob.container.ip);
}, 600_000);

/** An API token an operator made and then revoked; it must stop working within seconds. */
async function revokedApiToken(): Promise<string> {
  const asOps = (p: string, init: RequestInit = {}) => rig.call('ops', 'operator', p, init);
  const made = await asOps('/v1/tokens', {
    method: 'POST',
    body: JSON.stringify({
      name: 'access matrix',
      subject: 'reservation-system',
      role: 'service',
      expiresAt: at(1),
    }),
  });
  expect(made.status).toBe(201);
  const { id, token } = (await made.json()) as { id: string; token: string };
  const probe = () => fetch(`${rig.url}/v1/containers`, { headers: { authorization: `Bearer ${token}` } });
  expect((await probe()).status).toBe(200);
  expect((await asOps(`/v1/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
  await until(async () => (await probe()).status === 401, 15_000, 'the revoked token to be refused');
  return token;
}

test("bob's container is hardened as Docker reports it: unprivileged, sshd's capabilities only, no new privileges, limits, nothing of the host's", async () => {
  const docker = rig.dockers[NODE]!;
  const owned = (await docker.listOwned(rig.platformId)).find((c) => c.containerId === bob.container.id);
  expect(owned).toBeDefined();
  const info = (await docker.inspect(owned!.dockerId))!;
  const h = info.HostConfig;
  expect(h.Privileged).toBe(false);
  expect(h.CapDrop).toEqual(['ALL']);
  expect([...(h.CapAdd ?? [])].sort()).toEqual([...SSHD_CAPABILITIES].sort());
  expect(h.SecurityOpt).toContain('no-new-privileges');
  expect(h.PidsLimit).toBeGreaterThan(0);
  expect(h.Memory).toBeGreaterThan(0);
  expect(h.NanoCpus).toBeGreaterThan(0);
  // No namespace of the host's: network, pid, ipc, uts, user, cgroup.
  expect(h.NetworkMode).not.toMatch(/^(host|container:)/);
  for (const mode of [
    h.PidMode,
    h.IpcMode,
    h.UTSMode,
    h.UsernsMode,
    (h as { CgroupnsMode?: string }).CgroupnsMode,
  ])
    expect(mode ?? '').not.toMatch(/^(host|container:)/);
  // No host mounts, no devices.
  expect(h.Binds ?? []).toEqual([]);
  expect(info.Mounts).toEqual([]);
  expect(h.Devices ?? []).toEqual([]);
  expect(h.DeviceCgroupRules ?? []).toEqual([]);
  expect(h.DeviceRequests ?? []).toEqual([]);
  // Docker's masked and read-only kernel paths are in place (not unmasked).
  expect(h.MaskedPaths?.length ?? 0).toBeGreaterThan(0);
  expect(h.ReadonlyPaths?.length ?? 0).toBeGreaterThan(0);
});

interface AuditEntry {
  actor: string;
  action: string;
  targetId?: string;
  result: string;
  status?: number;
  sourceIp?: string;
  inTransaction: boolean;
  details: Record<string, unknown>;
}

test("the audit log holds the matrix: alice's attempts refused, bob's container's own action list", async () => {
  const pages = async (who: string, role: Role, first: string) => {
    const out: AuditEntry[] = [];
    let next: string | null = first;
    for (let i = 0; next && i < 50; i++) {
      const res = await rig.call(who, role, next);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: AuditEntry[]; nextCursor: string | null };
      out.push(...page.items);
      next = page.nextCursor ? `${first}${first.includes('?') ? '&' : '?'}cursor=${page.nextCursor}` : null;
    }
    return out;
  };
  // Every change alice tried on bob's things was refused, and is on record as such.
  const byAlice = await pages('ops', 'operator', '/v1/audit?user=alice&limit=500');
  expect(byAlice.length).toBeGreaterThan(20);
  expect(byAlice.filter((e) => e.result !== 'refused')).toEqual([]);
  for (const e of byAlice) {
    expect([401, 403, 404, 409, 422]).toContain(e.status);
    expect(e.sourceIp).toMatch(/127\.0\.0\.1|::1/);
    expect(e.inTransaction).toBe(false);
  }
  const onBobsContainer = byAlice.filter((e) => e.targetId === bob.container.id).map((e) => e.action);
  expect(onBobsContainer).toEqual(expect.arrayContaining(['container.stop', 'container.remove']));

  // Bob's container's list: how it was made (in the transaction, then the operation's end) and
  // what others tried; alice may not read it (the matrix checked that).
  const actions = await pages('bob', 'user', `/v1/containers/${bob.container.id}/actions?limit=100`);
  const summary = actions.map((e) => `${e.actor} ${e.action} ${e.result}`);
  expect(summary.slice(0, 2)).toEqual(['bob container.create accepted', 'bob container.create succeeded']);
  expect(actions[0]).toMatchObject({ inTransaction: true, details: { operation: bob.operationId } });
  expect(summary).toEqual(expect.arrayContaining(['alice container.stop refused']));
  expect(actions.every((e) => e.actor !== 'alice' || e.result === 'refused')).toBe(true);
});
