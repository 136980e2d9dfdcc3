/**
 * Secrets never leave in a log line, an answer, an event or a trace attribute. ipam, quota and
 * provisioning run as their own processes against the rig (a fresh database on its Postgres, its
 * Kafka, node1 and node2 over TLS, spans exported to its Jaeger, logs at debug); the test
 * registers the nodes with TLS material (node1 by file paths, node2 by a mounted-Secret folder,
 * a third with a key its daemon does not trust), issues an API token and uses it, uses JWTs,
 * creates, changes and removes a container and a batch, and provokes errors (a forged JWT, another
 * key's JWT, a wrong API token secret, a revoked token, a bad body, an unknown id, a role refused,
 * a create on the node whose TLS fails). Then every log line, every answer (status, headers,
 * body), every event (bus.outbox, bus.dead_letter, audit.entry rows and the Kafka topics' messages)
 * and every exported span of the run's traces is searched for the TLS private keys (PEM, base64
 * lines and chunks, DER bytes, JWK parts), the signing key, the JWTs and API tokens (whole and
 * their secret parts) and the database password. Addresses 10.64.99.252-254, secondary pool
 * 172.10.0.245-249.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadOrCreateLocalKey, signLocalToken, type LocalSigningKey, type Role } from '@testbed/kit';
import { NodeDocker } from '@testbed/provisioning/src/docker/node-docker';
import { freshPostgresDatabase, randomSuffix, repoRoot, rigEnv } from '@testbed/test-support/rig';
import { startServiceProcess, type ServiceProcess } from '@testbed/test-support/service-process';
import { removeOwned, rigEndpoint, testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { eventually } from '@testbed/test-support/wait';
import {
  AnswerRecorder,
  auditRows,
  busRows,
  exportedSpans,
  kafkaMessages,
  logLines,
  traceIdsOfLogs,
  tracesTagged,
} from './support/scan-corpora';
import {
  findSecrets,
  jwtSecret,
  passwordSecret,
  privateKeySecret,
  tokenSecret,
  type Corpus,
  type Secret,
} from './support/secret-search';

jest.setTimeout(420_000);

const env = rigEnv(
  'DATABASE_URL',
  'KAFKA_BROKERS',
  'TESTBED_NODES',
  'DOCKER_TLS_KEY',
  'JAEGER_OTLP_ENDPOINT',
  'JAEGER_QUERY_URL',
);
const NODES = ['node1', 'node2'];
const platform = testPlatform();
const runId = `scan-${randomSuffix()}`;
const namespace = `scan-${randomSuffix()}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-scan-'));
const logFiles: Record<string, string> = {};
const processes: Record<string, ServiceProcess> = {};
const dockers = NODES.map((n) => new NodeDocker(rigEndpoint(n), 30_000));
const recorder = new AnswerRecorder();
const verify = { issuer: 'testbed-local', audience: 'testbed' };
let database: { url: string; drop(): Promise<void> };
let key: LocalSigningKey;
/** Every token this test sent, to be searched for. */
const secrets: Secret[] = [];
const jwts: string[] = [];

/** A key and certificate the rig's CA never signed: the daemon refuses the handshake. */
function untrustedTls(dir: string): { caPath: string; certPath: string; keyPath: string } {
  fs.mkdirSync(dir, { recursive: true });
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=scan-untrusted'].concat([
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]),
    { stdio: 'pipe', timeout: 30_000 },
  );
  return { caPath: certPath, certPath, keyPath };
}

beforeAll(async () => {
  database = await freshPostgresDatabase('secret_scan');
  execFileSync(
    path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [path.join(repoRoot, 'prisma', 'migrate.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: 'pipe',
      timeout: 120_000,
    },
  );
  key = await loadOrCreateLocalKey(work);
  // node2's TLS files as a mounted Kubernetes Secret would hold them.
  const secretDir = path.join(work, 'tls-secrets', 'node2-docker');
  fs.mkdirSync(secretDir, { recursive: true });
  const rigTls = rigEndpoint('node1').tls!;
  fs.copyFileSync(rigTls.caPath, path.join(secretDir, 'ca.pem'));
  fs.copyFileSync(rigTls.certPath, path.join(secretDir, 'cert.pem'));
  fs.copyFileSync(rigTls.keyPath, path.join(secretDir, 'key.pem'));

  const common = {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: env.KAFKA_BROKERS!,
    KAFKA_NAMESPACE: namespace,
    DATA_DIR: work,
    LOG_LEVEL: 'debug',
    OTEL_EXPORTER_OTLP_ENDPOINT: env.JAEGER_OTLP_ENDPOINT!,
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_RESOURCE_ATTRIBUTES: `testbed.scan=${runId}`,
    AUTH_TOKEN_CACHE_SECONDS: '0',
  };
  for (const s of ['quota', 'ipam', 'provisioning']) logFiles[s] = path.join(work, `${s}.log`);
  processes.quota = await startServiceProcess(
    'quota',
    { ...common, QUOTA_KNOWN_NODES: NODES.join(','), QUOTA_ENFORCE_RESERVATIONS: 'false' },
    logFiles.quota!,
  );
  const withTokens = { ...common, AUTH_TOKENS_URL: processes.quota.url };
  [processes.ipam, processes.provisioning] = await Promise.all([
    startServiceProcess(
      'ipam',
      {
        ...withTokens,
        IPAM_EXPERIMENT_RANGE: '10.64.99.252-10.64.99.254',
        IPAM_SECONDARY_RANGE: '172.10.0.245-172.10.0.249',
      },
      logFiles.ipam!,
    ),
    startServiceProcess(
      'provisioning',
      {
        ...withTokens,
        PROVISIONING_PLATFORM_ID: platform,
        PROVISIONING_HELPER_IMAGE: 'testbed/busybox',
        PROVISIONING_HEALTH_INTERVAL_MS: '1000',
        PROVISIONING_TLS_SECRETS_DIR: path.join(work, 'tls-secrets'),
      },
      logFiles.provisioning!,
    ),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(processes).map((p) => p.stop()));
  await removeOwned(dockers, platform).catch(() => undefined);
  await database?.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function jwt(subject: string, role: Role): Promise<string> {
  const t = await signLocalToken(key, { subject, role, ...verify });
  jwts.push(t);
  return t;
}

const prov = (p: string) => `${processes.provisioning!.url}${p}`;
const quota = (p: string) => `${processes.quota!.url}${p}`;

type Operation = { id: string; state: string; traceId?: string; items?: { containerId: string }[] };

test('the search finds a secret planted in a sample, in each form it looks for', () => {
  const pem = fs.readFileSync(env.DOCKER_TLS_KEY!, 'utf8');
  const keySecret = privateKeySecret('sample key', pem);
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const token = `tbk_00000000-0000-4000-8000-000000000000_${'A'.repeat(20)}b${'C'.repeat(22)}`;
  const tokenPart = token.split('_')[2]!;
  const samples: Corpus = {
    kind: 'samples',
    items: [
      { where: 'clean', text: '{"level":30,"msg":"node node1 is up","password":"***"}' },
      { where: 'pem', text: `{"msg":"tls","key":${JSON.stringify(pem)}}` },
      { where: 'one line', text: `cert material ${body[3]} trailing` },
      {
        where: 'rewrapped',
        text: body
          .join('')
          .match(/.{1,76}/g)!
          .join('\\n'),
      },
      { where: 'buffer', text: JSON.stringify({ key: Buffer.from(body.join(''), 'base64') }) },
      { where: 'token secret', text: `introspect ${tokenPart}` },
      { where: 'url', text: 'connecting to postgresql://testbed:testbed@127.0.0.1:5433/x' },
      { where: 'field', text: '{"password":"testbed"}' },
    ],
  };
  const found = findSecrets(
    [samples],
    [
      keySecret,
      tokenSecret('sample token', token, [tokenPart]),
      passwordSecret('sample password', 'testbed'),
    ],
  );
  expect(found.map((h) => `${h.where}: ${h.secret}`).sort()).toEqual(
    [
      'buffer: sample key',
      'field: sample password',
      'one line: sample key',
      'pem: sample key',
      'rewrapped: sample key',
      'token secret: sample token',
      'url: sample password',
    ].sort(),
  );
  // The hit's context masks the secret.
  expect(found.every((h) => !h.context.includes(tokenPart) && !h.context.includes(body[3]!))).toBe(true);
});

test('a full run leaves no secret in its logs, answers, events or exported spans', async () => {
  const started = Date.now();
  const operator = await jwt('scan-operator', 'operator');
  const alice = await jwt('scan-alice', 'user');

  // Nodes over TLS: by file paths, by a Secret folder, and one whose key the daemon does not trust.
  const n1 = rigEndpoint('node1');
  const n2 = rigEndpoint('node2');
  const n3 = rigEndpoint('node3');
  const untrusted = untrustedTls(path.join(work, 'untrusted'));
  for (const body of [
    { name: 'node1', dockerHost: n1.dockerHost, tls: n1.tls, macvlanParent: n1.macvlanParent },
    {
      name: 'node2',
      dockerHost: n2.dockerHost,
      tls: { secretRef: 'node2-docker' },
      macvlanParent: n2.macvlanParent,
    },
    { name: 'untrusted', dockerHost: n3.dockerHost, tls: untrusted, macvlanParent: n3.macvlanParent },
  ]) {
    const r = await recorder.ask(prov('/v1/nodes'), { method: 'POST', token: operator, body });
    expect([body.name, r.status]).toEqual([body.name, 201]);
  }
  await eventually(
    async () => {
      const r = await recorder.ask(prov('/v1/nodes'), { token: operator });
      type Health = { state: string; error: string | null };
      const items = (r.json as { items: { name: string; health: Health }[] }).items;
      const health = (n: string) => items.find((i) => i.name === n)?.health;
      const bad = health('untrusted');
      return NODES.every((n) => health(n)?.state === 'up') && bad && bad.state !== 'up' && bad.error;
    },
    60_000,
    'node1 and node2 up, the untrusted node down with its TLS error',
  );

  // An API token, issued by an operator: its one answer holds it, nothing else may.
  const issued = await recorder.ask(quota('/v1/tokens'), {
    method: 'POST',
    token: operator,
    issuing: true,
    body: {
      name: 'secret scan',
      subject: 'scan-bot',
      role: 'user',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    },
  });
  expect(issued.status).toBe(201);
  const apiToken = (issued.json as { id: string; token: string }).token;
  const tokenId = (issued.json as { id: string }).id;
  const tokenPart = apiToken.slice(`tbk_${tokenId}_`.length);
  expect(tokenPart).toHaveLength(43);
  secrets.push(tokenSecret('the API token', apiToken, [tokenPart]));

  // A container of alice's (JWT): created, changed, read, its logs, stopped, started.
  const created = await recorder.ask(prov('/v1/containers'), {
    method: 'POST',
    token: alice,
    headers: { prefer: 'wait=90' },
    body: { node: 'node1', name: `scan-c-${randomSuffix()}`, image: 'testbed/busybox', ip: '10.64.99.252' },
  });
  const op = created.json as Operation;
  expect([op.state, created.text]).toEqual(['succeeded', created.text]);
  const containerId = op.items![0]!.containerId;
  expect(
    (
      await recorder.ask(prov(`/v1/containers/${containerId}`), {
        method: 'PATCH',
        token: alice,
        body: { cpuMillis: 200 },
      })
    ).status,
  ).toBe(200);
  expect((await recorder.ask(prov(`/v1/containers/${containerId}`), { token: alice })).status).toBe(200);
  expect((await recorder.ask(prov(`/v1/containers/${containerId}/logs`), { token: alice })).status).toBe(200);
  expect(
    (await recorder.ask(prov(`/v1/containers/${containerId}/stop`), { method: 'POST', token: alice })).status,
  ).toBe(200);
  expect(
    (await recorder.ask(prov(`/v1/containers/${containerId}/start`), { method: 'POST', token: alice }))
      .status,
  ).toBe(200);

  // A batch on node2 (the Secret folder's TLS), made with the API token.
  const batch = await recorder.ask(prov('/v1/batches'), {
    method: 'POST',
    token: apiToken,
    headers: { prefer: 'wait=90' },
    body: {
      namePrefix: `scan-b-${randomSuffix()}`,
      count: 1,
      image: 'testbed/busybox',
      nodes: ['node2'],
      baseIp: '10.64.99.253',
    },
  });
  const batchOp = batch.json as Operation & { request: { batchId: string } };
  expect([batchOp.state, batch.text]).toEqual(['succeeded', batch.text]);
  const batchId = batchOp.request.batchId;
  expect((await recorder.ask(prov(`/v1/batches/${batchId}`), { token: apiToken })).status).toBe(200);
  expect((await recorder.ask(prov('/v1/containers'), { token: apiToken })).status).toBe(200);

  // Errors: identities that are none, a bad body, an unknown id, a refused role, a failing TLS node.
  const [head, payload] = alice.split('.');
  const forged = `${head}.${payload}.${Buffer.from('not the signature of this token at all, forged').toString('base64url')}`;
  const other = await generateKeyPair('ES256', { extractable: true });
  const otherKeysJwt = await new SignJWT({ role: 'operator' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject('scan-mallory')
    .setIssuer(verify.issuer)
    .setAudience(verify.audience)
    .setExpirationTime('1h')
    .sign(other.privateKey);
  const wrongSecret = `tbk_${tokenId}_${'Z'.repeat(10)}${tokenPart.slice(10, 33)}${'Q'.repeat(10)}`;
  for (const [name, t] of [
    ['a forged JWT', forged],
    ["another key's JWT", otherKeysJwt],
    ['a wrong API token secret', wrongSecret],
  ] as const) {
    secrets.push(name === 'a wrong API token secret' ? tokenSecret(name, t) : jwtSecret(name, t));
    expect([name, (await recorder.ask(prov('/v1/containers'), { token: t })).status]).toEqual([name, 401]);
  }
  const otherJwk = await exportJWK(other.privateKey);
  secrets.push(tokenSecret("the other key's private part", otherJwk.d!, []));
  expect(
    (await recorder.ask(prov('/v1/containers'), { method: 'POST', token: alice, body: { node: 'node1' } }))
      .status,
  ).toBe(422);
  expect(
    (await recorder.ask(prov('/v1/containers/00000000-0000-4000-8000-000000000000'), { token: alice }))
      .status,
  ).toBe(404);
  expect((await recorder.ask(quota('/v1/tokens'), { method: 'POST', token: alice, body: {} })).status).toBe(
    403,
  );
  const onUntrusted = await recorder.ask(prov('/v1/containers'), {
    method: 'POST',
    token: operator,
    headers: { prefer: 'wait=60' },
    body: { node: 'untrusted', name: `scan-u-${randomSuffix()}`, image: 'testbed/busybox' },
  });
  const untrustedState = onUntrusted.status < 300 ? (onUntrusted.json as Operation).state : 'refused';
  expect(['failed', 'refused']).toContain(untrustedState);

  // Revoked: refused at once (AUTH_TOKEN_CACHE_SECONDS=0).
  expect(
    (await recorder.ask(quota(`/v1/tokens/${tokenId}`), { method: 'DELETE', token: operator })).status,
  ).toBe(204);
  expect((await recorder.ask(prov('/v1/containers'), { token: apiToken })).status).toBe(401);

  // Removed: the batch (by scan-bot's JWT) and alice's container.
  const bot = await jwt('scan-bot', 'user');
  expect(
    (await recorder.ask(prov(`/v1/batches/${batchId}`), { method: 'DELETE', token: bot })).status,
  ).toBeLessThan(300);
  expect(
    (await recorder.ask(prov(`/v1/containers/${containerId}?force=true`), { method: 'DELETE', token: alice }))
      .status,
  ).toBe(204);
  await eventually(
    async () => (await Promise.all(dockers.map((d) => d.listOwned(platform)))).every((l) => l.length === 0),
    60_000,
    "the platform's containers gone from node1 and node2",
  );
  // The relay and the consumers finish what the removals started, then every process stops
  // (its last log lines written, its spans flushed).
  await new Promise((r) => setTimeout(r, 3000));
  await Promise.all(Object.values(processes).map((p) => p.stop()));

  // The corpora.
  const logs = logLines(logFiles);
  const events = [
    ...(await busRows(database.url)),
    ...(await auditRows(database.url)),
    ...(await kafkaMessages(env.KAFKA_BROKERS!.split(','), namespace)),
  ];
  const operationTraces = [op.traceId, batchOp.traceId].filter((t): t is string => typeof t === 'string');
  const traceIds = new Set([
    ...recorder.traceIds,
    ...traceIdsOfLogs(logs),
    ...operationTraces,
    ...(await tracesTagged(env.JAEGER_QUERY_URL!, ['provisioning', 'quota', 'ipam'], {
      'testbed.scan': runId,
    })),
  ]);
  const spans = await exportedSpans(env.JAEGER_QUERY_URL!, traceIds, new Set(operationTraces));
  const corpora: Corpus[] = [
    { kind: 'log lines', items: logs },
    { kind: 'answers', items: recorder.answers },
    { kind: 'events', items: events },
    { kind: 'spans', items: spans.items },
  ];

  // The secrets: TLS private keys, the signing key, every JWT and token, the database password.
  const rigKeyPem = fs.readFileSync(env.DOCKER_TLS_KEY!, 'utf8');
  secrets.push(privateKeySecret("the rig's node TLS client key", rigKeyPem));
  secrets.push(privateKeySecret("the untrusted node's TLS key", fs.readFileSync(untrusted.keyPath, 'utf8')));
  const signingJwk = JSON.parse(fs.readFileSync(path.join(work, 'auth', 'signing-key.json'), 'utf8')) as {
    d: string;
  };
  secrets.push(tokenSecret("the platform's signing key (d)", signingJwk.d, []));
  jwts.forEach((t, i) => secrets.push(jwtSecret(`JWT ${i + 1} used`, t)));
  const dbPassword = decodeURIComponent(new URL(database.url).password);
  expect(dbPassword.length).toBeGreaterThan(0);
  secrets.push(passwordSecret('the database password', dbPassword));

  // The token's one answer holds it (the search works on what it got), and nothing else does.
  expect(findSecrets([{ kind: 'issuing', items: recorder.issuing }], secrets).map((h) => h.secret)).toEqual([
    'the API token',
  ]);
  const hits = findSecrets(corpora, secrets);
  const needles = secrets.reduce((n, s) => n + s.needles.length, 0);
  process.stdout.write(
    `secret scan: ${logs.length} log lines, ${recorder.answers.length} answers, ${events.length} events, ` +
      `${spans.items.length} spans (${spans.found} traces); ${secrets.length} secrets (${needles} forms); ` +
      `${hits.length} secrets found; ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  for (const h of hits.slice(0, 20))
    process.stdout.write(`  LEAK ${h.secret} in ${h.corpus}, ${h.where}: ${h.context}\n`);

  // Each corpus holds what the run did, so the scan cannot pass on nothing.
  for (const service of Object.keys(logFiles))
    expect([service, logs.some((l) => l.where.startsWith(`${service} `))]).toEqual([service, true]);
  expect(recorder.answers.length).toBeGreaterThan(15);
  expect(events.some((e) => e.where.startsWith('bus.outbox'))).toBe(true);
  expect(events.some((e) => e.where.startsWith('kafka '))).toBe(true);
  expect(spans.missing).toEqual([]);
  expect(spans.items.length).toBeGreaterThan(20);
  expect(spans.items.some((s) => s.text.includes('docker create container'))).toBe(true);

  expect(hits.map((h) => `${h.secret} in ${h.corpus}, ${h.where}: ${h.context}`)).toEqual([]);
});
