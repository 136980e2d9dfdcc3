import { z } from 'zod';
import { InvalidError } from './errors';

/** `?limit=&cursor=` as API.md defines them. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Opaque cursors: base64url of the last item's sort key, so clients cannot depend on their shape. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw InvalidError.field('query.cursor', 'not a cursor this API issued');
  }
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only tells whether there is more.
 * With `view`, the page holds each row as the API shows it.
 */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => unknown): Page<T>;
export function pageOf<T, V>(
  rows: T[],
  limit: number,
  keyOf: (row: T) => unknown,
  view: (row: T) => V,
): Page<V>;
export function pageOf<T, V>(
  rows: T[],
  limit: number,
  keyOf: (row: T) => unknown,
  view?: (row: T) => V,
): Page<T | V> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: view ? items.map(view) : items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
