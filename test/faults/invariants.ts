/**
 * What must hold once a fault is over, read from the platform's own tables (ipam, quota,
 * provisioning, bus) and from the node's Docker daemon. `violations` lists every breach in words;
 * an empty list means the platform converged. Fault tests poll it (bounded) and assert on it.
 */
import type Docker from 'dockerode';
import type { Database } from '@testbed/kit';

export interface InvariantInput {
  db: Database;
  /** The node's daemon: every container on it must be a live record of the platform. */
  docker: Docker;
  node: string;
  platformId: string;
  user: string;
  /** Consumers subscribed to each topic (their processed_event rows must cover its events). */
  consumers: Map<string, string[]>;
}

interface LiveRecord {
  id: string;
  name: string;
  node: string;
  state: string;
  ip: string;
  docker_id: string | null;
}

export interface Snapshot {
  live: LiveRecord[];
  operations: { id: string; kind: string; state: string; error: unknown; items: unknown }[];
  onNode: Docker.ContainerInfo[];
  outbox: { total: number; unpublished: number };
  /** (event, consumer) pairs checked against bus.processed_event. */
  deliveries: number;
}

const dockerStateMatches = (record: string, docker: string) =>
  record === docker ||
  (record === 'exited' && docker === 'created') ||
  (record === 'stopped' && docker === 'exited');

export async function checkInvariants(
  input: InvariantInput,
): Promise<{ violations: string[]; snapshot: Snapshot }> {
  const { db, docker } = input;
  const q = db.prisma;
  const violations: string[] = [];

  // Operations: every one ended, and every failure says why.
  const operations = await q.$queryRaw<Snapshot['operations']>`
    SELECT id::text, kind, state, error, items FROM provisioning.operation ORDER BY created_at`;
  for (const op of operations) {
    if (!['succeeded', 'partially_succeeded', 'failed', 'cancelled'].includes(op.state)) {
      violations.push(`operation ${op.id} (${op.kind}) is still ${op.state}`);
      continue;
    }
    const detail = (op.error as { detail?: string } | null)?.detail;
    if (op.state !== 'succeeded' && !detail)
      violations.push(`operation ${op.id} ended ${op.state} with no reason: ${JSON.stringify(op.error)}`);
    const items = Array.isArray(op.items)
      ? (op.items as { state?: string; error?: string | null; name?: string }[])
      : [];
    for (const item of items)
      if (item.state !== 'running' && !item.error)
        violations.push(`operation ${op.id}: item ${item.name} ended ${item.state} with no reason`);
  }

  // The platform's live containers (not removed, not failed).
  const live = await q.$queryRaw<LiveRecord[]>`
    SELECT id::text, name, node, state, ip, docker_id FROM provisioning.container
    WHERE removed_at IS NULL AND state NOT IN ('failed', 'removed') ORDER BY name`;
  const creating = live.filter((c) => c.state === 'creating');
  if (creating.length > 0)
    violations.push(`records still creating: ${creating.map((c) => c.name).join(', ')}`);
  const twice = <T>(xs: T[]) => [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
  const dupNames = twice(live.map((c) => `${c.node}/${c.name}`));
  if (dupNames.length > 0) violations.push(`live records named twice: ${dupNames.join(', ')}`);
  const dupIps = twice(live.map((c) => c.ip));
  if (dupIps.length > 0) violations.push(`live records with the same address: ${dupIps.join(', ')}`);

  // Addresses: ipam's allocations are exactly the live containers' addresses, each bound to it.
  const allocations = await q.$queryRaw<{ ip: string; state: string; container_id: string | null }[]>`
    SELECT ip, state::text AS state, container_id FROM ipam.allocation WHERE pool = 'experiment' ORDER BY ip_num`;
  const held = allocations.filter((a) => a.state !== 'bound');
  if (held.length > 0) violations.push(`addresses still held: ${held.map((a) => a.ip).join(', ')}`);
  const dupAlloc = twice(allocations.map((a) => a.ip));
  if (dupAlloc.length > 0) violations.push(`addresses allocated twice: ${dupAlloc.join(', ')}`);
  const allocKey = allocations.map((a) => `${a.ip}=${a.container_id ?? '-'}`).sort();
  const liveKey = live.map((c) => `${c.ip}=${c.id}`).sort();
  if (JSON.stringify(allocKey) !== JSON.stringify(liveKey))
    violations.push(
      `ipam allocations ≠ live containers' addresses: only in ipam [${allocKey.filter((k) => !liveKey.includes(k)).join(', ')}], only in records [${liveKey.filter((k) => !allocKey.includes(k)).join(', ')}]`,
    );

  // Quota: usage is exactly the live containers; no hold left.
  const usage = await q.$queryRaw<{ container_id: string; node: string }[]>`
    SELECT container_id, node FROM quota.container_usage WHERE "user" = ${input.user} ORDER BY container_id`;
  const usageIds = usage.map((u) => u.container_id).sort();
  const liveIds = live.map((c) => c.id).sort();
  if (JSON.stringify(usageIds) !== JSON.stringify(liveIds))
    violations.push(
      `quota usage (${usageIds.length}) ≠ live containers (${liveIds.length}): only in quota [${usageIds.filter((i) => !liveIds.includes(i)).join(', ')}], not counted [${liveIds.filter((i) => !usageIds.includes(i)).join(', ')}]`,
    );
  const holds = await q.$queryRaw<{ request_id: string; held_count: number }[]>`
    SELECT request_id, held_count FROM quota.admission
    WHERE decision = 'granted' AND held_count > 0 AND released_at IS NULL`;
  if (holds.length > 0)
    violations.push(
      `quota holds left: ${holds.map((h) => `${h.request_id} holds ${h.held_count}`).join(', ')}`,
    );

  // The node: Docker's containers are exactly the live records (label, name, id, state).
  const onNode = await docker.listContainers({ all: true });
  const byRecord = new Map(onNode.map((c) => [c.Labels['testbed.container-id'] ?? '', c]));
  const foreign = onNode.filter(
    (c) =>
      c.Labels['testbed.platform'] !== input.platformId ||
      !live.some((r) => r.id === c.Labels['testbed.container-id']),
  );
  if (foreign.length > 0)
    violations.push(
      `on the node, no live record: ${foreign.map((c) => `${c.Names[0]} (${c.State}, ${c.Labels['testbed.container-id'] ?? 'no label'})`).join(', ')}`,
    );
  const dupOnNode = twice(onNode.map((c) => c.Labels['testbed.container-id'] ?? c.Id));
  if (dupOnNode.length > 0) violations.push(`containers made twice for a record: ${dupOnNode.join(', ')}`);
  for (const r of live) {
    const c = byRecord.get(r.id);
    if (!c) {
      violations.push(`record ${r.name} (${r.state}) has no container on ${r.node}`);
      continue;
    }
    if (r.node !== input.node) violations.push(`record ${r.name} on unexpected node ${r.node}`);
    if ((c.Names[0] ?? '').replace(/^\//, '') !== r.name)
      violations.push(`record ${r.name} is ${c.Names[0]} on the node`);
    if (r.docker_id !== c.Id)
      violations.push(`record ${r.name} names docker id ${r.docker_id}, the node ${c.Id}`);
    if (!dockerStateMatches(r.state, c.State))
      violations.push(`record ${r.name} says ${r.state}, Docker ${c.State}`);
  }

  // Events: every outbox row published, and every subscribed consumer processed it; no dead letter.
  const outbox = await q.$queryRaw<{ id: string; topic: string; published: boolean }[]>`
    SELECT id::text, topic, published_at IS NOT NULL AS published FROM bus.outbox ORDER BY seq`;
  const unpublished = outbox.filter((o) => !o.published);
  if (unpublished.length > 0)
    violations.push(
      `${unpublished.length} outbox rows unpublished (${[...new Set(unpublished.map((o) => o.topic))].join(', ')})`,
    );
  const processed = await q.$queryRaw<{ consumer: string; event_id: string }[]>`
    SELECT consumer, event_id FROM bus.processed_event`;
  const seen = new Set(processed.map((p) => `${p.consumer}/${p.event_id}`));
  const missed: string[] = [];
  let deliveries = 0;
  for (const o of outbox)
    for (const consumer of input.consumers.get(o.topic) ?? []) {
      deliveries++;
      if (!seen.has(`${consumer}/${o.id}`)) missed.push(`${consumer} never processed ${o.topic} ${o.id}`);
    }
  if (missed.length > 0)
    violations.push(`${missed.length} events not processed: ${missed.slice(0, 5).join('; ')}`);
  const dead = await q.$queryRaw<{ consumer: string; topic: string; error: string }[]>`
    SELECT consumer, topic, error FROM bus.dead_letter`;
  if (dead.length > 0)
    violations.push(`dead letters: ${dead.map((d) => `${d.consumer} ${d.topic}: ${d.error}`).join('; ')}`);

  return {
    violations,
    snapshot: {
      live,
      operations,
      onNode,
      outbox: { total: outbox.length, unpublished: unpublished.length },
      deliveries,
    },
  };
}

/**
 * Polls the invariants until none is violated (bounded): answers the snapshot and when it first
 * held, or throws with the violations of the last look.
 */
export async function awaitConvergence(
  input: InvariantInput,
  timeoutMs: number,
): Promise<{ snapshot: Snapshot; at: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: string[];
  for (;;) {
    try {
      const { violations, snapshot } = await checkInvariants(input);
      if (violations.length === 0) return { snapshot, at: Date.now() };
      last = violations;
    } catch (err) {
      last = [`checking failed: ${String(err)}`];
    }
    if (Date.now() > deadline)
      throw new Error(`not converged within ${timeoutMs} ms:\n- ${last.join('\n- ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
