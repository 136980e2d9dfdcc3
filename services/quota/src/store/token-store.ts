import type { Role, Tx } from '@testbed/kit';

/** An API token as quota keeps it: the secret's hash, never the secret. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  subject: string;
  role: Role;
  /** Empty: the token is not scoped to nodes. */
  nodes: string[];
  secretHash: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

type Row = Omit<ApiTokenRecord, 'role' | 'nodes'> & { role: string; nodes: string[] | null };

function toRecord(row: Row): ApiTokenRecord {
  return { ...row, role: row.role as Role, nodes: row.nodes ?? [] };
}

export async function insertToken(tx: Tx, token: Omit<ApiTokenRecord, 'revokedAt'>): Promise<ApiTokenRecord> {
  return toRecord(await tx.apiToken.create({ data: token }));
}

export async function findToken(tx: Tx, id: string): Promise<ApiTokenRecord | undefined> {
  const row = await tx.apiToken.findUnique({ where: { id } });
  return row ? toRecord(row) : undefined;
}

/** Newest first; `after` is the last row of the previous page. */
export async function listTokens(
  tx: Tx,
  after: { createdAt: Date; id: string } | undefined,
  limit: number,
): Promise<ApiTokenRecord[]> {
  const rows = await tx.apiToken.findMany({
    where: after
      ? {
          OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
        }
      : {},
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
  });
  return rows.map(toRecord);
}

/** Marks the token revoked unless it already is; the record as it is afterwards. */
export async function revokeToken(tx: Tx, id: string, at: Date): Promise<ApiTokenRecord | undefined> {
  await tx.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
  return findToken(tx, id);
}
