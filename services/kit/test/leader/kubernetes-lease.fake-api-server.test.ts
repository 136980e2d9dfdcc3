import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../src/log/logger';
import { ManualClock } from '@testbed/test-support/clock';
import type { LeaderElector } from '../../src/leader/leader';
import { createKubernetesLeaseElector, type KubernetesLeaseElector } from '../../src/leader/kubernetes-lease';
import { startFakeKubernetesApiServer, type FakeKubernetesApiServer } from './fake-kubernetes-api-server';

// No Kubernetes cluster can run here: every test talks to a FAKE API server started in this file
// (./fake-kubernetes-api-server.ts), which answers Lease reads and writes the way kube-apiserver does.
// Time is a ManualClock the replicas share, their renewals, retries and expiries on its timers: the
// test steps it and reads exact times, instead of sleeping and allowing wall-clock margins.

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
  elector: KubernetesLeaseElector;
  /** onChange calls with the clock's time they happened. */
  changes: Array<{ leading: boolean; at: number }>;
}

/** Every test's time; renewals, retries and expiries fall due on it. */
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(new Date());
});

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

function replica(name: string, identity: string): Replica {
  const token = `token-${identity}-${randomUUID()}`;
  const changes: Replica['changes'] = [];
  const elector = createKubernetesLeaseElector({
    name,
    namespace,
    identity,
    ...timing,
    kubeConfig: kubeConfigFor(token),
    clock,
    timers: clock,
    logger,
    onChange: (leading) => changes.push({ leading, at: clock.now().getTime() }),
  });
  running.push(elector);
  const r = { identity, token, elector, changes };
  replicas.push(r);
  return r;
}

/** isLeader() of every replica at each step of the clock, with the clock's time. */
function watchLeadership(replicas: Replica[]) {
  const samples: Array<{ at: number; leading: string[] }> = [];
  const sample = () =>
    samples.push({
      at: clock.now().getTime(),
      leading: replicas.filter((r) => r.elector.isLeader()).map((r) => r.identity),
    });
  watchers.add(sample);
  sample();
  return {
    samples,
    stop: () => {
      watchers.delete(sample);
      sample();
      return samples;
    },
  };
}

const watchers = new Set<() => void>();

/** Replicas of this test, and those cut off from the API (their requests may hang: not waited for). */
const replicas: Replica[] = [];
const cut = new Set<string>();
afterEach(() => {
  replicas.length = 0;
  cut.clear();
});

function cutOff(r: Replica, how: 'refuse' | 'stall'): void {
  cut.add(r.token);
  fake.cutOff(r.token, how);
}

function reconnect(r: Replica): void {
  cut.delete(r.token);
  fake.reconnect(r.token);
}

/** Lets the rounds the last step started get their answers (every replica still on the network). */
async function settle(): Promise<void> {
  await Promise.all(replicas.filter((r) => !cut.has(r.token)).map((r) => r.elector.settled()));
  await new Promise((r) => setImmediate(r));
}

/** Moves the clock `ms` forward in steps, letting each step's requests settle; watchers sample each step. */
async function run(ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle();
    for (const w of watchers) w();
  }
}

/** Steps the clock until `done` holds; answers the clock's time then. Fails after `withinMs` of it. */
async function runUntil(what: string, done: () => boolean, withinMs: number, step = 10): Promise<number> {
  const start = clock.now().getTime();
  while (!done()) {
    if (clock.now().getTime() - start > withinMs)
      throw new Error(`${what}: not within ${withinMs} ms of the clock`);
    await run(step, step);
  }
  return clock.now().getTime();
}

function writesBy(replica: Replica, name: string) {
  return fake.writes.filter((w) => w.token === replica.token && w.lease.metadata.name === name);
}

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

    await run(leaseMs); // renewals and retries for a whole lease duration
    const samples = watch.stop();
    expect(samples.filter((s) => s.leading.length > 1)).toEqual([]);
    expect(samples.every((s) => s.leading.length === 1 && s.leading[0] === leader[0]!.identity)).toBe(true);

    const lease = fake.lease(namespace, name)!;
    expect(lease.spec.holderIdentity).toBe(leader[0]!.identity);
    expect(lease.spec.leaseTransitions).toBe(0);
    expect(lease.spec.leaseDurationSeconds).toBe(1);
    expect(lease.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // Created, then renewed every renewEveryMs of the clock: exactly on schedule.
    const stamps = writesBy(leader[0]!, name).map((w) => time(w.lease.spec.renewTime));
    expect(stamps.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBe(timing.renewEveryMs);
    const follower = leader[0] === a ? b : a;
    expect(writesBy(follower, name)).toEqual([]);
    expect(follower.changes).toEqual([]);
  });

  it('hands over at once when the leader stops: the other leads at its next retry, one transition more', async () => {
    const name = leaseName();
    const a = replica(name, 'replica-a');
    const b = replica(name, 'replica-b');
    await a.elector.start();
    await b.elector.start();
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    const watch = watchLeadership([a, b]);

    await a.elector.stop();
    const stoppedAt = clock.now().getTime();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.changes.map((c) => c.leading)).toEqual([true, false]);
    const released = fake.writes.filter((w) => w.lease.metadata.name === name).at(-1)!;
    expect(released.token).toBe(a.token);
    expect(released.lease.spec.holderIdentity).toBeUndefined();

    await runUntil('replica-b to lead', () => b.elector.isLeader(), timing.retryEveryMs + 50);
    const takeover = writesBy(b, name)[0]!;
    expect(time(takeover.lease.spec.renewTime) - stoppedAt).toBeLessThanOrEqual(timing.retryEveryMs);
    expect(watch.stop().filter((s) => s.leading.length > 1)).toEqual([]);
    const lease = fake.lease(namespace, name)!;
    expect(lease.spec.holderIdentity).toBe('replica-b');
    expect(lease.spec.leaseTransitions).toBe(1);
  });

  it.each(['refuse', 'stall'] as const)(
    'a leader cut off from the API (%s) stops leading at lastRenew + leaseDuration; the other takes over after expiry',
    async (how) => {
      const name = leaseName();
      const a = replica(name, 'replica-a');
      const b = replica(name, 'replica-b');
      await a.elector.start();
      await b.elector.start();
      await run(300); // a renews at least once, b watches
      expect(a.elector.isLeader()).toBe(true);
      const watch = watchLeadership([a, b]);

      cutOff(a, how);
      await runUntil('replica-b to take over', () => b.elector.isLeader(), leaseMs + 3 * timing.retryEveryMs);
      const samples = watch.stop();

      // a's last renewal the API server accepted: its renewTime is a's own stamp.
      const lastRenew = Math.max(...writesBy(a, name).map((w) => time(w.lease.spec.renewTime)));
      const expiresAt = lastRenew + leaseMs;
      expect(samples.filter((s) => s.at >= expiresAt && s.leading.includes('replica-a'))).toEqual([]);
      expect(samples.filter((s) => s.leading.length > 1)).toEqual([]);
      // a stops believing it leads exactly when its lease runs out, whatever its requests do.
      const lost = a.changes.find((c) => !c.leading)!;
      expect(lost.at).toBe(expiresAt);

      // b takes it after it expired, within two of its retries (one to see a's last version, one to
      // have watched it unchanged for a lease duration).
      const takeover = writesBy(b, name)[0]!;
      expect(time(takeover.lease.spec.renewTime)).toBeGreaterThan(expiresAt);
      expect(time(takeover.lease.spec.renewTime)).toBeLessThanOrEqual(expiresAt + 2 * timing.retryEveryMs);
      expect(takeover.lease.spec.holderIdentity).toBe('replica-b');
      expect(takeover.lease.spec.leaseTransitions).toBe(1);

      // Back on the network, a finds the lease taken and follows.
      reconnect(a);
      await run(3 * timing.retryEveryMs + 2 * requestTimeoutMs);
      expect(a.elector.isLeader()).toBe(false);
      expect(b.elector.isLeader()).toBe(true);
      expect(fake.lease(namespace, name)!.spec.holderIdentity).toBe('replica-b');

      // stop() is bounded even while requests hang: each one has a deadline (a real one: the
      // request's, not the clock's).
      cutOff(a, how);
      const stopping = Date.now();
      await a.elector.stop();
      expect(Date.now() - stopping).toBeLessThan(2 * requestTimeoutMs + 500);
    },
    30_000,
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
        const now = clock.now().toISOString().replace('Z', '000Z');
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
    const renewed = clock.now();
    const stamp = renewed.toISOString().replace('Z', '000Z');
    fake.seed(namespace, name, {
      holderIdentity: 'ghost',
      leaseDurationSeconds: 1,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 4,
    });
    // By this clock the lease expired 4 s ago, but this replica has not yet watched it for 1 s.
    clock.set(new Date(renewed.getTime() + 5000));
    const a = replica(name, 'replica-a');
    await a.elector.start();
    const watchedFrom = clock.now().getTime();
    await run(3 * timing.retryEveryMs);
    expect(a.elector.isLeader()).toBe(false);
    expect(writesBy(a, name)).toEqual([]);

    await runUntil(
      'replica-a to take the expired lease',
      () => a.elector.isLeader(),
      leaseMs + 2 * timing.retryEveryMs,
    );
    const lease = fake.lease(namespace, name)!;
    expect(lease.spec.holderIdentity).toBe('replica-a');
    expect(lease.spec.leaseTransitions).toBe(5);
    // Taken at its first attempt after a lease duration of its own watch, not before.
    const acquired = time(lease.spec.acquireTime);
    expect(acquired).toBeGreaterThan(watchedFrom + leaseMs);
    expect(acquired).toBeLessThanOrEqual(watchedFrom + leaseMs + timing.retryEveryMs);

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
