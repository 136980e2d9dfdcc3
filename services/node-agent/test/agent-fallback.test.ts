/**
 * Where the node's cgroups cannot be read for the daemon's containers (a daemon in a VM, as on a
 * laptop), the agent reads Docker's one-shot stats instead and says so: in status().source, in
 * its readiness detail and in one log line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAgentHttp } from '../src/http';
import { startTestAgent, type TestAgent } from './support/agent-harness';
import { startRecordingDockerProxy, type RecordingDockerProxy } from './support/recording-docker-proxy';
import { removeLabelled, rigNode, runContainer, testLabel, until, type Running } from './support/rig-docker';

const node = rigNode('node2');
const label = testLabel('fallback');
const INTERVAL = 500;
const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-no-cgroups-'));
let proxy: RecordingDockerProxy;
let c: Running;
const agents: TestAgent[] = [];

beforeAll(async () => {
  proxy = await startRecordingDockerProxy(node.socket);
  c = await runContainer(node, {
    label,
    memoryBytes: 32 * 1024 * 1024,
    nanoCpus: 250_000_000,
    cmd: ['sh', '-c', 'sleep 3600 & wait'],
  });
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await proxy?.close();
  await removeLabelled(node, label);
  fs.rmSync(empty, { recursive: true, force: true });
});

const fallbackLines = (t: TestAgent) => t.logs.filter((l) => /one-shot stats instead/.test(l.msg));

test('a cgroup root with no hierarchies: Docker one-shot stats, said in status, readiness and one log line', async () => {
  const t = await startTestAgent({
    node: 'node2',
    socket: proxy.socket,
    intervalMs: INTERVAL,
    cgroupRoot: empty,
  });
  agents.push(t);
  const status = t.agent.status();
  expect(status.source).toBe('docker-stats');
  expect(status.sourceReason).toContain(`no cgroup counters under ${empty}`);

  const sample = await until(
    'a docker-stats sample of the container',
    () => t.batches.flatMap((b) => b.samples.filter((s) => s.ref === c.ref).map((s) => ({ s, b }))).at(0),
    20 * INTERVAL,
  );
  expect(sample.b.source).toBe('docker-stats');
  expect(sample.s).toMatchObject({
    memoryLimitBytes: 32 * 1024 * 1024,
    cpuLimitMillis: 250,
    pids: 2,
    interfaces: [],
  });
  expect(sample.s.memoryUsageBytes).toBeGreaterThan(0);
  expect(sample.s.cpuUsec).toBeGreaterThan(0);

  const http = await startAgentHttp({
    host: '127.0.0.1',
    port: 0,
    status: () => t.agent.status(),
    registry: t.agent.metrics.registry,
  });
  try {
    const ready = await until(
      'ready',
      async () => {
        const r = await fetch(`${http.url}/readyz`);
        return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
      },
      20 * INTERVAL,
    );
    expect(ready).toMatchObject({ source: 'docker-stats', sourceReason: status.sourceReason, ready: true });
    expect(await (await fetch(`${http.url}/metrics`)).text()).toMatch(
      /^node_agent_source\{source="docker-stats"\} 1$/m,
    );
  } finally {
    await http.close();
  }
  await until('heartbeat', () => t.heartbeats.at(0), 20 * INTERVAL);
  expect(t.heartbeats[0]).toMatchObject({ source: 'docker-stats', sourceReason: status.sourceReason });
  expect(fallbackLines(t)).toHaveLength(1);
  expect(
    proxy.requests().some((r) => r.includes(`/containers/${c.id}/stats?stream=false&one-shot=true`)),
  ).toBe(true);
});

test("cgroups here but not the daemon's containers' (their pids are not this host's): the agent switches once Docker confirms they run", async () => {
  // A proc root without the containers' pids: as with a daemon in a VM, whose pids are the VM's.
  const noPids = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-other-proc-'));
  try {
    const t = await startTestAgent({
      node: 'node2',
      socket: node.socket,
      intervalMs: INTERVAL,
      procRoot: noPids,
    });
    agents.push(t);
    expect(t.agent.status().source).toBe('cgroup-v1');
    const switched = await until(
      'the switch',
      () => (t.agent.status().source === 'docker-stats' ? t.agent.status() : undefined),
      30 * INTERVAL,
    );
    expect(switched.sourceReason).toMatch(
      /no cgroup of it under \/sys\/fs\/cgroup.*the daemon's containers are not on this host/,
    );
    await until(
      'a docker-stats sample',
      () => t.batches.find((b) => b.source === 'docker-stats' && b.samples.some((s) => s.ref === c.ref)),
      20 * INTERVAL,
    );
    expect(fallbackLines(t)).toHaveLength(1);
  } finally {
    fs.rmSync(noPids, { recursive: true, force: true });
  }
});
