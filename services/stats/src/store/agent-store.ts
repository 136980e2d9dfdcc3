import type { NodeHeartbeat } from '@testbed/node-agent/src/wire';
import type { SqlSession } from './sql';

/** A node's agent as its newest heartbeat tells (an older one, arriving late, changes nothing). */
export async function recordHeartbeat(sql: SqlSession, h: NodeHeartbeat): Promise<void> {
  await sql.query(
    `INSERT INTO stats.node_agent
       (node, epoch, last_heartbeat, interval_ms, cpus, memory_bytes, source, source_reason, containers, buffered, dropped)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (node) DO UPDATE SET epoch = excluded.epoch, last_heartbeat = excluded.last_heartbeat,
       interval_ms = excluded.interval_ms, cpus = excluded.cpus, memory_bytes = excluded.memory_bytes,
       source = excluded.source, source_reason = excluded.source_reason, containers = excluded.containers,
       buffered = excluded.buffered, dropped = excluded.dropped
     WHERE excluded.last_heartbeat >= stats.node_agent.last_heartbeat`,
    [
      h.node,
      h.epoch,
      new Date(h.t),
      h.intervalMs,
      h.cpus,
      h.memoryBytes,
      h.source,
      h.sourceReason ?? null,
      h.containers,
      h.buffered,
      h.dropped,
    ],
  );
}

export interface AgentRow {
  node: string;
  lastHeartbeat: string;
  intervalMs: number;
  cpus: number;
  memoryBytes: number;
  source: string;
  sourceReason: string | null;
  containers: number;
  buffered: number;
  dropped: number;
}

export async function listAgents(sql: SqlSession): Promise<AgentRow[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT node, last_heartbeat, interval_ms, cpus, memory_bytes::float8 AS memory_bytes, source, source_reason,
            containers, buffered, dropped::float8 AS dropped
       FROM stats.node_agent ORDER BY node`,
  );
  return rows.map((r) => ({
    node: String(r.node),
    lastHeartbeat: new Date(r.last_heartbeat as string).toISOString(),
    intervalMs: Number(r.interval_ms),
    cpus: Number(r.cpus),
    memoryBytes: Number(r.memory_bytes),
    source: String(r.source),
    sourceReason: (r.source_reason as string | null) ?? null,
    containers: Number(r.containers),
    buffered: Number(r.buffered),
    dropped: Number(r.dropped),
  }));
}
