/**
 * One user action, one trace, in a real trace store: ipam, quota and provisioning run as their
 * own processes against the rig (Postgres, Kafka, node1 and node2), exporting over OTLP to the
 * rig's Jaeger; a batch of 3 over two nodes is read back from Jaeger's query API whole, and a
 * failing create's trace holds the error on the span that failed. Stats and node1's agent run
 * too, so that every service's /metrics is scraped before and after the batch: the figures
 * operators watch must have moved. Addresses 10.64.99.240-249.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadOrCreateLocalKey, signLocalToken, type Role } from '@testbed/kit';
import { NodeDocker } from '@testbed/provisioning/src/docker/node-docker';
import { freshPostgresDatabase, randomSuffix, repoRoot, rigEnv } from '@testbed/test-support/rig';
import { startServiceProcess, type ServiceProcess } from '@testbed/test-support/service-process';
import { rigEndpoint, testPlatform, removeOwned } from '@testbed/test-support/fixtures/provisioning';
import { eventually } from '@testbed/test-support/wait';
import { AGENT_NODE_FLAGS } from '@testbed/node-agent/src/node-flags';
import { jaegerTrace, serviceEdges, orphanSpans, type JaegerTrace } from '@testbed/test-support/jaeger';

jest.setTimeout(300_000);

const NODES = ['node1', 'node2'];
const env = rigEnv(
  'DATABASE_URL',
  'KAFKA_BROKERS',
  'TESTBED_NODES',
  'JAEGER_OTLP_ENDPOINT',
  'JAEGER_QUERY_URL',
);
const platform = testPlatform();
const dockers = NODES.map((n) => new NodeDocker(rigEndpoint(n), 30_000));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-trace-'));
let database: { url: string; drop(): Promise<void> };
const processes: Record<string, ServiceProcess> = {};
let key: Awaited<ReturnType<typeof loadOrCreateLocalKey>>;

beforeAll(async () => {
  database = await freshPostgresDatabase('batch_trace');
  execFileSync(
    path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [path.join(repoRoot, 'prisma', 'migrate.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: 'pipe',
    },
  );
  key = await loadOrCreateLocalKey(work);
  const common = {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: env.KAFKA_BROKERS!,
    KAFKA_NAMESPACE: `trace-${randomSuffix()}`,
    DATA_DIR: work,
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: env.JAEGER_OTLP_ENDPOINT!,
    // Spans leave each process within half a second, not the SDK's default five.
    OTEL_BSP_SCHEDULE_DELAY: '500',
  };
  const started = await Promise.all([
    startServiceProcess(
      'ipam',
      { ...common, IPAM_EXPERIMENT_RANGE: '10.64.99.240-10.64.99.249' },
      path.join(work, 'ipam.log'),
    ),
    startServiceProcess(
      'quota',
      { ...common, QUOTA_KNOWN_NODES: NODES.join(','), QUOTA_ENFORCE_RESERVATIONS: 'false' },
      path.join(work, 'quota.log'),
    ),
    startServiceProcess(
      'provisioning',
      {
        ...common,
        TESTBED_NODES: NODES.join(','),
        PROVISIONING_NODES_FROM_ENV: 'true',
        PROVISIONING_PLATFORM_ID: platform,
        PROVISIONING_HELPER_IMAGE: 'testbed/busybox',
      },
      path.join(work, 'provisioning.log'),
    ),
    startServiceProcess('stats', common, path.join(work, 'stats.log')),
  ]);
  [processes.ipam, processes.quota, processes.provisioning, processes.stats] = started;
  processes.agent = await startServiceProcess(
    'node-agent',
    {
      KAFKA_BROKERS: common.KAFKA_BROKERS,
      KAFKA_NAMESPACE: common.KAFKA_NAMESPACE,
      NODE_AGENT_NODE: 'node1',
      DOCKER_HOST: `unix://${env.NODE1_DOCKER_SOCKET}`,
      ...(env.NODE1_CGROUP_PARENT ? { NODE_AGENT_CGROUP_PARENT: env.NODE1_CGROUP_PARENT } : {}),
      NODE_AGENT_LISTEN_HOST: '127.0.0.1',
      NODE_AGENT_INTERVAL_MS: '1000',
      NODE_AGENT_HEARTBEAT_EVERY: '2',
      LOG_LEVEL: 'warn',
    },
    path.join(work, 'agent.log'),
    { portVariable: 'NODE_AGENT_PORT', runner: 'compiled', nodeFlags: AGENT_NODE_FLAGS },
  );
});

afterAll(async () => {
  await Promise.all(Object.values(processes).map((p) => p.stop()));
  await removeOwned(dockers, platform);
  await database?.drop();
});

async function call(subject: string, role: Role, pathname: string, init: RequestInit = {}) {
  const token = await signLocalToken(key, { subject, role, issuer: 'testbed-local', audience: 'testbed' });
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(processes.provisioning!.url + pathname, { ...init, headers });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

type Operation = { id: string; state: string; traceId?: string; error: { detail?: string } | null };

/** The trace once every process has exported its part: no span waits for its parent any more. */
async function wholeTrace(traceId: string, ready: (t: JaegerTrace) => boolean): Promise<JaegerTrace> {
  return eventually(
    async () => {
      const t = await jaegerTrace(env.JAEGER_QUERY_URL!, traceId);
      return t && orphanSpans(t).length === 0 && ready(t) ? t : undefined;
    },
    60_000,
    `trace ${traceId} complete in Jaeger`,
  );
}

/** Every series of a /metrics page, `name{labels}` → value. */
async function scrape(p: ServiceProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

/** The sum of the series of `name` whose labels include every `label="value"` given. */
function total(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of series) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

const before: Record<string, Map<string, number>> = {};

test('a batch of 3 over two nodes is one trace in Jaeger: every service, both daemons, no orphan span', async () => {
  for (const [name, p] of Object.entries(processes)) before[name] = await scrape(p);
  // quota learns the nodes from provisioning's node.registered: a batch before that is refused.
  const ready = await eventually(
    async () => {
      const r = await call('trace-user', 'user', '/v1/batches', {
        method: 'POST',
        headers: { prefer: 'wait=60' },
        body: JSON.stringify({
          namePrefix: `trace-${randomSuffix()}`,
          count: 3,
          image: 'testbed/busybox',
          nodes: NODES,
          placement: 'spread',
          baseIp: '10.64.99.240',
        }),
      });
      const op = r.body as Operation | null;
      return op?.state === 'succeeded' ? op : undefined;
    },
    120_000,
    'a batch of 3 to succeed',
  );
  expect(ready.traceId).toMatch(/^[0-9a-f]{32}$/);

  const t = await wholeTrace(ready.traceId!, (tr) =>
    NODES.every((n) =>
      tr.spans.some((s) => s.operationName === 'docker start container' && s.tags['testbed.node'] === n),
    ),
  );
  const services = new Set(t.spans.map((s) => s.service));
  expect([...services].sort()).toEqual(expect.arrayContaining(['ipam', 'provisioning', 'quota']));
  const edges = serviceEdges(t);
  for (const edge of [
    'provisioning → quota',
    'provisioning → ipam',
    'quota → provisioning',
    'ipam → provisioning',
    'provisioning → docker',
  ])
    expect(edges).toContain(edge);
  // The request, the operation's work and each container's Docker calls, on both nodes.
  expect(t.spans.some((s) => s.operationName === 'POST /v1/batches' && s.kind === 'server')).toBe(true);
  const work = t.spans.find((s) => s.operationName === 'operation batch.create');
  expect(work?.tags['testbed.operation.id']).toBe(ready.id);
  const creates = t.spans.filter((s) => s.operationName === 'docker create container');
  expect(creates).toHaveLength(3);
  expect(new Set(creates.map((s) => s.tags['testbed.node']))).toEqual(new Set(NODES));
  expect(t.spans.some((s) => /quota\.commands process$/.test(s.operationName))).toBe(true);
});

test('a failing create leads to its trace, whose failing span holds the error', async () => {
  const r = await call('trace-user', 'user', '/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=60' },
    body: JSON.stringify({
      node: 'node1',
      name: `trace-fail-${randomSuffix()}`,
      image: 'testbed/no-such-image',
    }),
  });
  const op = r.body as Operation;
  expect(op.state).toBe('failed');
  expect(op.traceId).toMatch(/^[0-9a-f]{32}$/);

  const t = await wholeTrace(op.traceId!, (tr) =>
    tr.spans.some((s) => s.tags['testbed.operation.state'] === 'failed'),
  );
  const failedDocker = t.spans.find((s) => s.operationName === 'docker create container' && s.error);
  expect(failedDocker).toBeDefined();
  expect(failedDocker!.tags['testbed.node']).toBe('node1');
  const ended = t.spans.find((s) => s.tags['testbed.operation.state'] === 'failed');
  expect(ended!.error).toBe(true);
  expect(ended!.tags['testbed.operation.id']).toBe(op.id);
});

test('after the batch, the figures operators watch have moved on every service’s /metrics', async () => {
  const after: Record<string, Map<string, number>> = {};
  const moved = (svc: string, name: string, labels: Record<string, string> = {}) =>
    total(after[svc]!, name, labels) - total(before[svc]!, name, labels);
  // The agent's batches reach stats within an interval or two: wait for stats to count some.
  await eventually(
    async () => {
      for (const [name, p] of Object.entries(processes)) after[name] = await scrape(p);
      return moved('stats', 'stats_samples_total') > 0 && moved('stats', 'stats_heartbeats_total') > 0;
    },
    30_000,
    'stats to ingest node1’s samples and heartbeats',
  );
  // HTTP: the batch's request, by route and status.
  expect(
    moved('provisioning', 'http_request_duration_seconds_count', { route: '/v1/batches' }),
  ).toBeGreaterThan(0);
  // Operations by kind and outcome; Docker calls by node and call.
  expect(
    moved('provisioning', 'provisioning_operation_duration_seconds_count', {
      kind: 'batch.create',
      state: 'succeeded',
    }),
  ).toBeGreaterThan(0);
  for (const node of NODES)
    expect(
      moved('provisioning', 'provisioning_docker_call_seconds_count', { node, call: 'create container' }),
    ).toBeGreaterThan(0);
  expect(total(after.provisioning!, 'provisioning_node_up', { node: 'node1' })).toBe(1);
  // The bus on each side of the saga: relay latency, processing time, published events by type.
  for (const svc of ['provisioning', 'quota', 'ipam']) {
    expect([svc, moved(svc, 'bus_relay_latency_seconds_count') > 0]).toEqual([svc, true]);
    expect([svc, moved(svc, 'bus_event_processing_seconds_count') > 0]).toEqual([svc, true]);
    expect([svc, after[svc]!.has('bus_outbox_backlog')]).toEqual([svc, true]);
  }
  expect(moved('quota', 'bus_events_published_total', { type: 'quota.reserve.granted' })).toBeGreaterThan(0);
  expect([...after.quota!.keys()].some((k) => k.startsWith('bus_consumer_lag_messages{'))).toBe(true);
  // ipam's pool, quota's use against the limit.
  expect(moved('ipam', 'ipam_pool_utilisation_ratio', { pool: 'experiment' })).toBeGreaterThan(0);
  expect(
    total(after.quota!, 'quota_use_ratio', { user: 'trace-user', resource: 'containers' }),
  ).toBeGreaterThan(0);
  // The agent's side: what it sent.
  expect(moved('agent', 'node_agent_samples_sent_total')).toBeGreaterThan(0);
  expect(moved('agent', 'node_agent_heartbeats_sent_total')).toBeGreaterThan(0);
});
