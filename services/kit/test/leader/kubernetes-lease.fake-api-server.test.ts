import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../src/log/logger';
import { ManualClock, type Clock } from '../../src/time/clock';
import type { LeaderElector } from '../../src/leader/leader';
import { createKubernetesLeaseElector } from '../../src/leader/kubernetes-lease';
import { waitFor } from '../bus/wait-for';
import { startFakeKubernetesApiServer, type FakeKubernetesApiServer } from './fake-kubernetes-api-server';

// No Kubernetes cluster can run here: every test talks to a FAKE API server started in this file
// (./fake-kubernetes-api-server.ts), which answers Lease reads and writes the way kube-apiserver does.

const namespace = 'testbed';
const leaseMs = 1000;
const timing = { leaseDurationSeconds: leaseMs / 1000, renewEveryMs: 200, retryEveryMs: 200 };
/** The elector's default request deadline for these timings. */
const requestTimeoutMs = 1000;
const logger = createLogger({ name: 'lease-test', level: 'silent' });

let fake: FakeKubernetesApiServer;
const running: LeaderElector[] = [];

interface Replica {
  identity: string;
  token: string;
  elector: LeaderElector;
  /** onChange calls with the local time they happened. */
  changes: Array<{ leading: boolean; at: number }>;
}

beforeAll(async () => {
  fake = await startFakeKubernetesApiServer();
});

afterEach(async () => {
  fake.beforeWrite = undefined;
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

afterAll(async () => {
  await fake?.close();
});

function leaseName(): string {
  return `lease-${randomUUID().slice(0, 8)}`;
}

function kubeConfigFor(token: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
    users: [{ name: token, token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: token }],
    currentContext: 'fake',
  });
  return kubeConfig;
}

function replica(name: string, identity: string, opts: { clock?: Clock } = {}): Replica {
  const token = `token-${identity}-${randomUUID()}`;
  const changes: Replica['changes'] = [];
  const elector = createKubernetesLeaseElector({
    name,
    namespace,
    identity,
    ...timing,
    kubeConfig: kubeConfigFor(token),
    clock: opts.clock,
    logger,
    onChange: (leading) => changes.push({ leading, at: Date.now() }),
  });
  running.push(elector);
  return { identity, token, elector, changes };
}

/** Samples isLeader() of every replica every few milliseconds until stopped. */
function watchLeadership(replicas: Replica[]) {
  const samples: Array<{ at: number; leading: string[] }> = [];
  const sample = () =>
    samples.push({
      at: Date.now(),
      leading: replicas.filter((r) => r.elector.isLeader()).map((r) => r.identity),
    });
  const timer = setInterval(sample, 5);
  sample();
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}

function writesBy(replica: Replica, name: string) {
  return fake.writes.filter((w) => w.token === replica.token && w.lease.metadata.name === name);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const time = (microTime: string | undefined) => new Date(microTime ?? NaN).getTime();

describe('Kubernetes Lease elector against a fake API server (no real cluster can run here)', () => {
  it('lets exactly one of two racing replicas lead, creating the lease with MicroTime stamps', async () => {
    const name = leaseName();
    const a = replica(name, 'replica-a');
    const b = replica(name, 'replica-b');
    await Promise.all([a.elector.start(), b.elector.start()]);
    const leader = [a, b].filter((r) => r.elector.isLeader());
    expect(leader).toHaveLength(1);
    const watch = watchLeadership([a, b]);

    await sleep(1000); // renewals and retries for a whole lease duration
    const samples = watch.stop();
    expect(samples.filter((s) => s.leading.length > 1)).toEqual([]);
    expect(samples.every((s) => s.leading.length === 1 && s.leading[0] === leader[0]!.identity)).toBe(true);

    const lease = fake.lease(namespace, name)!;
    expect(lease.spec.holderIdentity).toBe(leader[0]!.identity);
    expect(lease.spec.leaseTransitions).toBe(0);
    expect(lease.spec.leaseDurationSeconds).toBe(1);
    expect(lease.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(writesBy(leader[0]!, name).length).toBeGreaterThanOrEqual(5); // created, then renewed every 200 ms
    const follower = leader[0] === a ? b : a;
    expect(writesBy(follower, name)).toEqual([]);
    expect(follower.changes).toEqual([]);
  });

  it('hands over at once when the leader stops: the other leads within retryEveryMs, one transition more', async () => {
    const name = leaseName();
    const a = replica(name, 'replica-a');
    const b = replica(name, 'replica-b');
    await a.elector.start();
    await b.elector.start();
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    const watch = watchLeadership([a, b]);

    await a.elector.stop();
    const stoppedAt = Date.now();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.changes.map((c) => c.leading)).toEqual([true, false]);
    const released = fake.writes.filter((w) => w.lease.metadata.name === name).at(-1)!;
    expect(released.token).toBe(a.token);
    expect(released.lease.spec.holderIdentity).toBeUndefined();

    await waitFor('replica-b to lead', () => b.elector.isLeader(), timing.retryEveryMs + 300, 5);
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(timing.retryEveryMs + 300);
    expect(watch.stop().filter((s) => s.leading.length > 1)).toEqual([]);
    const lease = fake.lease(namespace, name)!;
    expect(lease.spec.holderIdentity).toBe('replica-b');
    expect(lease.spec.leaseTransitions).toBe(1);
  });

  it.each(['refuse', 'stall'] as const)(
    'a leader cut off from the API (%s) stops leading by lastRenew + leaseDuration; the other takes over after expiry',
    async (how) => {
      const name = leaseName();
      const a = replica(name, 'replica-a');
      const b = replica(name, 'replica-b');
      await a.elector.start();
      await b.elector.start();
      await sleep(300); // a renews at least once, b watches
      expect(a.elector.isLeader()).toBe(true);
      const watch = watchLeadership([a, b]);

      fake.cutOff(a.token, how);
      await waitFor(
        'replica-b to take over',
        () => b.elector.isLeader(),
        leaseMs + 3 * timing.retryEveryMs + 1000,
        5,
      );
      const samples = watch.stop();

      // a's last renewal the API server accepted: its renewTime is a's own stamp.
      const lastRenew = Math.max(...writesBy(a, name).map((w) => time(w.lease.spec.renewTime)));
      const expiresAt = lastRenew + leaseMs;
      expect(samples.filter((s) => s.at >= expiresAt && s.leading.includes('replica-a'))).toEqual([]);
      expect(samples.filter((s) => s.leading.length > 1)).toEqual([]);
      const lost = a.changes.find((c) => !c.leading)!;
      expect(lost.at).toBeGreaterThanOrEqual(expiresAt - 5); // the timer's own clock may differ by a ms or two
      expect(lost.at).toBeLessThanOrEqual(expiresAt + 100);

      const takeover = writesBy(b, name)[0]!;
      expect(time(takeover.lease.spec.renewTime)).toBeGreaterThan(expiresAt);
      expect(takeover.at).toBeLessThanOrEqual(expiresAt + 2 * timing.retryEveryMs + 500);
      expect(takeover.lease.spec.holderIdentity).toBe('replica-b');
      expect(takeover.lease.spec.leaseTransitions).toBe(1);

      // Back on the network, a finds the lease taken and follows.
      fake.reconnect(a.token);
      await sleep(3 * timing.retryEveryMs);
      expect(a.elector.isLeader()).toBe(false);
      expect(b.elector.isLeader()).toBe(true);
      expect(fake.lease(namespace, name)!.spec.holderIdentity).toBe('replica-b');

      // stop() is bounded even while requests hang: each one has a deadline.
      fake.cutOff(a.token, how);
      const stopping = Date.now();
      await a.elector.stop();
      expect(Date.now() - stopping).toBeLessThan(2 * requestTimeoutMs + 500);
    },
    15_000,
  );

  it.each(['POST', 'PUT'] as const)(
    'follows when another replica writes the lease between its read and its %s (409)',
    async (method) => {
      const name = leaseName();
      // PUT: the lease exists and is free (no holder); POST: it does not exist yet.
      if (method === 'PUT') fake.seed(namespace, name, { leaseDurationSeconds: 1, leaseTransitions: 3 });
      let intruded = false;
      fake.beforeWrite = (m, ns, n) => {
        if (intruded || n !== name) return;
        intruded = true;
        const now = new Date().toISOString().replace('Z', '000Z');
        const spec = {
          holderIdentity: 'intruder',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
        };
        fake.seed(ns, n, { ...spec, leaseTransitions: m === 'PUT' ? 4 : 0 });
      };
      const a = replica(name, 'replica-a');
      await a.elector.start();

      expect(intruded).toBe(true);
      expect(a.elector.isLeader()).toBe(false);
      expect(fake.conflicts.filter((c) => c.token === a.token && c.method === method)).toHaveLength(1);
      expect(writesBy(a, name)).toEqual([]);
      expect(fake.lease(namespace, name)!.spec.holderIdentity).toBe('intruder');
      expect(a.changes).toEqual([]);
    },
  );

  it('judges expiry by renewTime and by its own watch, so a clock running ahead cannot steal a fresh lease', async () => {
    const name = leaseName();
    const renewed = new Date();
    const stamp = renewed.toISOString().replace('Z', '000Z');
    fake.seed(namespace, name, {
      holderIdentity: 'ghost',
      leaseDurationSeconds: 1,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 4,
    });
    // By this clock the lease expired 4 s ago, but this replica has not yet watched it for 1 s.
    const clock = new ManualClock(new Date(renewed.getTime() + 5000));
    const a = replica(name, 'replica-a', { clock });
    await a.elector.start();
    await sleep(3 * timing.retryEveryMs);
    expect(a.elector.isLeader()).toBe(false);
    expect(writesBy(a, name)).toEqual([]);

    clock.advance(leaseMs + 1);
    await waitFor(
      'replica-a to take the expired lease',
      () => a.elector.isLeader(),
      2 * timing.retryEveryMs + 500,
      5,
    );
    const lease = fake.lease(namespace, name)!;
    expect(lease.spec.holderIdentity).toBe('replica-a');
    expect(lease.spec.leaseTransitions).toBe(5);
    expect(time(lease.spec.acquireTime)).toBe(clock.now().getTime());

    // Leadership is measured on the same clock: once it passes the last renewal + lease, no leader.
    clock.advance(leaseMs);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('a follower that stops leaves the lease alone', async () => {
    const name = leaseName();
    const a = replica(name, 'replica-a');
    const b = replica(name, 'replica-b');
    await a.elector.start();
    await b.elector.start();
    const before = fake.writes.length;
    await b.elector.stop();
    await b.elector.stop(); // idempotent
    expect(fake.writes.slice(before).filter((w) => w.token === b.token)).toEqual([]);
    expect(a.elector.isLeader()).toBe(true);
  });
});
