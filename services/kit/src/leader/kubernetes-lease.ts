import os from 'node:os';
import { z } from 'zod';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from '../config/load-config';
import type { Logger } from '../log/logger';
import { systemClock, systemTimers, type Clock, type Timers } from '../time/clock';
import { alwaysLeader, type LeaderElector } from './leader';
import { connectLeaseApi, type LeaseApi, type LeaseRecord } from './k8s/lease-api';

export interface KubernetesLeaseElectorOptions {
  /** The Lease object's name, e.g. `ipam-leader`: one per service, shared by its replicas. */
  name: string;
  namespace: string;
  /** This replica's name in `holderIdentity`; the pod name (HOSTNAME) by default. */
  identity?: string;
  leaseDurationSeconds?: number;
  /** How often the leader renews; well under the lease duration, so one failed renewal is survivable. */
  renewEveryMs?: number;
  /** How often a follower (or a leader whose renewal failed) tries again. */
  retryEveryMs?: number;
  /** Deadline of each API request; by default the renewal period, at least 1 s, at most the lease. */
  requestTimeoutMs?: number;
  /** Where the API server is and how to authenticate; the pod's service account by default. */
  kubeConfig?: KubeConfig;
  clock?: Clock;
  /** Where renewals, retries and the lease's expiry are scheduled (a test's ManualClock). */
  timers?: Timers;
  logger: Logger;
  /** Called on every change of leadership, `false` included when the lease lapses or on stop. */
  onChange?(leading: boolean): void;
}

/**
 * Leader election through a coordination.k8s.io/v1 Lease, the algorithm of client-go's
 * leaderelection package: create the lease when absent; take it when it is free or expired,
 * counting the transition; renew it while leading. Every write carries the resourceVersion read
 * just before, so when two replicas race the API server lets exactly one win (409 for the other).
 *
 * `isLeader()` is computed from the clock at each call: it turns false once our last successful
 * write is a lease duration old, whatever the API does meanwhile (errors, hangs), so this replica
 * never believes it leads longer than the others would wait before taking over.
 */
export interface KubernetesLeaseElector extends LeaderElector {
  /** Resolves once the round in hand (a read, a write) has its answer: a test's clock steps after it. */
  settled(): Promise<void>;
}

export function createKubernetesLeaseElector(opts: KubernetesLeaseElectorOptions): KubernetesLeaseElector {
  const leaseDurationSeconds = opts.leaseDurationSeconds ?? 15;
  const renewEveryMs = opts.renewEveryMs ?? 5000;
  const retryEveryMs = opts.retryEveryMs ?? 2000;
  const leaseMs = leaseDurationSeconds * 1000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? Math.min(leaseMs, Math.max(1000, renewEveryMs));
  const identity = opts.identity ?? process.env.HOSTNAME ?? os.hostname();
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
  const { name, namespace } = opts;
  checkTimings({ leaseDurationSeconds, renewEveryMs, retryEveryMs, requestTimeoutMs });
  const logger = opts.logger.child({ lease: `${namespace}/${name}`, identity });

  let api: LeaseApi | undefined;
  /** Our clock's time when our lease runs out: the renewTime of our last successful write + duration. */
  let leadingUntil: number | undefined;
  /** Told to onChange and the log; lags `isLeader()` by at most one timer callback. */
  let reportedLeading = false;
  /** The lease version last read and when we first saw it, on our own clock. */
  let observed: { resourceVersion: string; since: number } | undefined;
  let lastHolder: string | undefined;
  let nextAttempt: unknown;
  let expiry: unknown;
  let inFlight: Promise<boolean> | undefined;
  let state: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  const now = () => clock.now().getTime();
  const isLeader = () => state !== 'stopped' && leadingUntil !== undefined && now() < leadingUntil;

  function report(leading: boolean, reason: string): void {
    if (reportedLeading === leading) return;
    reportedLeading = leading;
    logger.info({ leading, reason }, leading ? 'became leader' : 'stopped leading');
    try {
      opts.onChange?.(leading);
    } catch (err) {
      logger.error({ err }, 'leadership change callback failed');
    }
  }

  function lead(renewedAt: number, reason: string): void {
    leadingUntil = renewedAt + leaseMs;
    armExpiry();
    report(true, reason);
  }

  function follow(reason: string): void {
    leadingUntil = undefined;
    if (expiry) timers.clearTimeout(expiry);
    expiry = undefined;
    report(false, reason);
  }

  /** Tells onChange the moment the lease lapses, not at the next attempt. */
  function armExpiry(): void {
    if (expiry) timers.clearTimeout(expiry);
    if (leadingUntil === undefined) return;
    expiry = timers.setTimeout(
      () => {
        expiry = undefined;
        if (leadingUntil === undefined) return;
        if (now() >= leadingUntil) follow('the lease ran out before it could be renewed');
        else armExpiry(); // an injected clock may run slower than the timers
      },
      Math.max(1, leadingUntil - now()),
    );
  }

  function observe(lease: LeaseRecord): void {
    if (observed?.resourceVersion !== lease.resourceVersion) {
      observed = { resourceVersion: lease.resourceVersion, since: now() };
    }
    if (lease.holderIdentity !== lastHolder) {
      lastHolder = lease.holderIdentity;
      logger.debug({ holder: lease.holderIdentity ?? null }, 'lease holder changed');
    }
  }

  /**
   * Free: nobody holds it. Expired: its renewTime is a lease duration old, and we have also watched
   * it unchanged that long on our own clock (client-go's observedTime rule), so a replica whose
   * clock runs ahead cannot take a lease the holder is still renewing.
   */
  function isFree(lease: LeaseRecord, at: number): boolean {
    if (!lease.holderIdentity) return true;
    const durationMs = (lease.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const renewedAt = (lease.renewTime ?? lease.acquireTime)?.getTime() ?? Number.NEGATIVE_INFINITY;
    const watchedSince = observed?.resourceVersion === lease.resourceVersion ? observed.since : at;
    return at > renewedAt + durationMs && at > watchedSince + durationMs;
  }

  /** One round of the algorithm: at most two requests, each with a deadline. */
  async function acquireOrRenew(leaseApi: LeaseApi): Promise<void> {
    const stamp = clock.now();
    const at = stamp.getTime();
    const current = await leaseApi.read();
    if (!current) {
      const created = await leaseApi.create({
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: 0,
      });
      if (created === 'conflict') return follow('another replica created the lease first');
      observe(created);
      return lead(at, 'created the lease');
    }
    observe(current);
    const ours = current.holderIdentity === identity;
    if (!ours && !isFree(current, at)) return follow(`held by ${current.holderIdentity}`);
    const written = await leaseApi.replace(
      {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: ours && current.acquireTime ? current.acquireTime : stamp,
        renewTime: stamp,
        leaseTransitions: ours ? current.leaseTransitions : current.leaseTransitions + 1,
      },
      current.resourceVersion,
    );
    if (written === 'conflict') return follow('another replica wrote the lease first');
    observe(written);
    lead(
      at,
      ours ? 'renewed' : current.holderIdentity ? `took over from ${current.holderIdentity}` : 'acquired',
    );
  }

  /** Runs one round; true when it reached the API server and got an answer it could act on. */
  function attempt(leaseApi: LeaseApi): Promise<boolean> {
    const run = acquireOrRenew(leaseApi).then(
      () => true,
      (err: unknown) => {
        if (isLeader()) {
          logger.warn(
            { err, leadingUntil: new Date(leadingUntil ?? 0).toISOString() },
            'lease renewal failed',
          );
        } else {
          logger.warn({ err }, 'lease acquisition failed');
          follow('the API server could not be reached before the lease ran out');
        }
        return false;
      },
    );
    inFlight = run;
    return run;
  }

  function schedule(ok: boolean): void {
    if (state !== 'running' || !api) return;
    const leaseApi = api;
    nextAttempt = timers.setTimeout(
      () => {
        nextAttempt = undefined;
        void attempt(leaseApi).then(schedule);
      },
      ok && isLeader() ? renewEveryMs : retryEveryMs,
    );
  }

  /** Hands the lease over at once instead of making the others wait for it to expire. */
  async function release(leaseApi: LeaseApi): Promise<void> {
    const stamp = clock.now();
    const current = await leaseApi.read();
    if (!current || current.holderIdentity !== identity) return;
    const result = await leaseApi.replace(
      {
        holderIdentity: undefined,
        // client-go releases with 1 s too, so readers that ignore an empty holder see it lapse at once.
        leaseDurationSeconds: 1,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: current.leaseTransitions,
      },
      current.resourceVersion,
    );
    if (result === 'conflict') logger.info('lease changed hands while being released');
    else logger.info('released the lease');
  }

  return {
    isLeader,
    async settled() {
      await inFlight;
    },
    async start() {
      if (state !== 'new') return;
      state = 'starting';
      api = await connectLeaseApi({ name, namespace, kubeConfig: opts.kubeConfig, requestTimeoutMs });
      if (state !== 'starting') return; // stopped while loading the client
      state = 'running';
      // The first round before start() returns, so a lone replica leads as soon as it has started.
      schedule(await attempt(api));
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      if (nextAttempt) timers.clearTimeout(nextAttempt);
      nextAttempt = undefined;
      await inFlight;
      const held = leadingUntil !== undefined && now() < leadingUntil;
      // Stop believing first, then let the others in: never two leaders, even for a moment.
      follow('stopping');
      if (!api || !held) return;
      try {
        await release(api);
      } catch (err) {
        logger.warn({ err }, 'could not release the lease; the others take over once it expires');
      }
    },
  };
}

function checkTimings(t: {
  leaseDurationSeconds: number;
  renewEveryMs: number;
  retryEveryMs: number;
  requestTimeoutMs: number;
}): void {
  const problems: string[] = [];
  if (!Number.isInteger(t.leaseDurationSeconds) || t.leaseDurationSeconds < 1) {
    problems.push(
      `leaseDurationSeconds must be a whole number of seconds ≥ 1 (got ${t.leaseDurationSeconds})`,
    );
  }
  const leaseMs = t.leaseDurationSeconds * 1000;
  if (!(t.renewEveryMs > 0 && t.renewEveryMs < leaseMs)) {
    problems.push(
      `renewEveryMs must be above 0 and below the lease duration, ${leaseMs} ms (got ${t.renewEveryMs})`,
    );
  }
  if (!(t.retryEveryMs > 0 && t.retryEveryMs <= leaseMs)) {
    problems.push(
      `retryEveryMs must be above 0 and at most the lease duration, ${leaseMs} ms (got ${t.retryEveryMs})`,
    );
  }
  if (!(t.requestTimeoutMs > 0 && t.requestTimeoutMs <= leaseMs)) {
    problems.push(
      `requestTimeoutMs must be above 0 and at most the lease duration (got ${t.requestTimeoutMs})`,
    );
  }
  if (problems.length > 0) throw new Error(`Invalid leader election timings: ${problems.join('; ')}`);
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const leaderEnvSchema = z.object({
  LEADER_ELECTION: z.enum(['on', 'off']).default('on'),
  KUBERNETES_SERVICE_HOST: z.string().optional(),
});

const leaseEnvShape = {
  LEADER_LEASE_NAME: z
    .string()
    .regex(dnsSubdomain, 'must be a Kubernetes object name (lower case, digits, - and .)'),
  POD_NAMESPACE: z.string().regex(dnsLabel, 'must be a namespace name (set it from metadata.namespace)'),
  /** The pod name, which Kubernetes puts in HOSTNAME. */
  HOSTNAME: z.string().min(1).optional(),
};

/**
 * In a cluster (KUBERNETES_SERVICE_HOST is set) and unless LEADER_ELECTION=off: a Lease named
 * LEADER_LEASE_NAME in POD_NAMESPACE, held under the pod name. Anywhere else the one process leads.
 * Throws a ConfigError listing every missing or malformed variable.
 */
export function leaderElectorFromEnv(env: Record<string, string | undefined>, logger: Logger): LeaderElector {
  const mode = loadConfig(leaderEnvSchema, env);
  if (!mode.KUBERNETES_SERVICE_HOST || mode.LEADER_ELECTION === 'off') {
    const why =
      mode.LEADER_ELECTION === 'off' ? 'LEADER_ELECTION=off' : 'not running in a Kubernetes cluster';
    logger.info({ reason: why }, 'leader election: this process always leads');
    return alwaysLeader();
  }
  const config = loadConfig(leaderEnvSchema.extend(leaseEnvShape), env);
  return createKubernetesLeaseElector({
    name: config.LEADER_LEASE_NAME,
    namespace: config.POD_NAMESPACE,
    identity: config.HOSTNAME,
    logger,
  });
}
