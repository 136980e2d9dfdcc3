import type { InventoryEntry } from '@testbed/node-agent/src/wire';
import type { SqlSession, SqlTx } from './sql';

export const seriesId = (node: string, ref: string) => `${node}/${ref}`;

/**
 * The key of each (node, ref) pair, made for pairs never seen before. Concurrent makers of the
 * same pair meet at the unique index and both read the one row.
 */
export async function resolveSeriesKeys(
  tx: SqlTx,
  pairs: { node: string; ref: string }[],
): Promise<Map<string, number>> {
  const nodes = pairs.map((p) => p.node);
  const refs = pairs.map((p) => p.ref);
  await tx.query(
    `INSERT INTO stats.series (node, ref) SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (node, ref) DO NOTHING`,
    [nodes, refs],
  );
  const rows = await tx.query<{ key: number; node: string; ref: string }>(
    `SELECT s.key, s.node, s.ref FROM stats.series s
       JOIN unnest($1::text[], $2::text[]) AS p(node, ref) ON p.node = s.node AND p.ref = s.ref`,
    [nodes, refs],
  );
  return new Map(rows.map((r) => [seriesId(r.node, r.ref), Number(r.key)]));
}

/** What a node's agent says of its containers: names, images, Docker ids, the platform's ids. */
export async function applyInventory(
  sql: SqlSession,
  node: string,
  entries: InventoryEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await sql.query(
    `INSERT INTO stats.series (node, ref, docker_id, name, image, platform_id)
     SELECT $1, e.ref, e.id, e.name, e.image, e.platform_id
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[]) AS e(ref, id, name, image, platform_id)
     ON CONFLICT (node, ref) DO UPDATE SET
       docker_id = excluded.docker_id, name = excluded.name, image = excluded.image,
       platform_id = COALESCE(excluded.platform_id, stats.series.platform_id), updated_at = now()`,
    [
      node,
      entries.map((e) => e.ref),
      entries.map((e) => e.id),
      entries.map((e) => e.name),
      entries.map((e) => e.image),
      entries.map((e) => e.platformId ?? null),
    ],
  );
}

/** A series as the live view and the API name it. */
export interface SeriesInfo {
  key: number;
  node: string;
  ref: string;
  dockerId: string | null;
  /** The platform's container id, when the platform made the container. */
  platformId: string | null;
  /** The platform's name for it, else Docker's. */
  name: string | null;
  owner: string | null;
}

export async function allSeries(sql: SqlSession): Promise<SeriesInfo[]> {
  const rows = await sql.query<{
    key: number;
    node: string;
    ref: string;
    docker_id: string | null;
    platform_id: string | null;
    name: string | null;
    owner: string | null;
  }>(
    `SELECT s.key, s.node, s.ref, COALESCE(s.docker_id, c.docker_id) AS docker_id, s.platform_id,
            COALESCE(c.name, s.name) AS name, c.owner
       FROM stats.series s LEFT JOIN stats.container c ON c.id = s.platform_id`,
  );
  return rows.map((r) => ({
    key: Number(r.key),
    node: r.node,
    ref: r.ref,
    dockerId: r.docker_id,
    platformId: r.platform_id,
    name: r.name,
    owner: r.owner,
  }));
}
