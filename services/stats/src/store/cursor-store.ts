import type { IngestCursor } from '../domain/batch-order';
import type { SqlTx } from './sql';

/**
 * The nodes' cursors, locked until the transaction ends: two ingest replicas handed the same
 * partition during a rebalance store a node's batch once, the second seeing the first's cursor.
 * Locked in node order, so two transactions never wait for each other in a circle.
 */
export async function lockCursors(tx: SqlTx, nodes: string[]): Promise<Map<string, IngestCursor>> {
  await tx.query(
    `INSERT INTO stats.ingest_cursor (node, epoch, seq) SELECT unnest($1::text[]), 0, 0 ON CONFLICT DO NOTHING`,
    [nodes],
  );
  const rows = await tx.query<{ node: string; epoch: number; seq: number }>(
    `SELECT node, epoch::float8 AS epoch, seq::float8 AS seq FROM stats.ingest_cursor
      WHERE node = ANY($1::text[]) ORDER BY node FOR UPDATE`,
    [nodes],
  );
  return new Map(rows.map((r) => [r.node, { node: r.node, epoch: Number(r.epoch), seq: Number(r.seq) }]));
}

export async function saveCursors(tx: SqlTx, cursors: IngestCursor[]): Promise<void> {
  if (cursors.length === 0) return;
  await tx.query(
    `UPDATE stats.ingest_cursor c SET epoch = v.epoch, seq = v.seq, updated_at = now()
       FROM (SELECT unnest($1::text[]) AS node, unnest($2::int8[]) AS epoch, unnest($3::int8[]) AS seq) v
      WHERE c.node = v.node`,
    [cursors.map((c) => c.node), cursors.map((c) => c.epoch), cursors.map((c) => c.seq)],
  );
}
