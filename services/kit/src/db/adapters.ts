import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import type pg from 'pg';

/**
 * Driver adapter factories, with the fixes the migration runner needs (checked on the pinned
 * versions; queries and interactive transactions are the packages' own):
 * - @prisma/adapter-pg 7.10.1 `executeScript` splits the script on every ";" (a semicolon in a
 *   string, a comment or a function body breaks it) and runs the pieces one by one, so a failing
 *   migration leaves its first statements behind;
 * - pglite-prisma-adapter 0.7.2 `executeScript` does not await `pglite.exec`, so a failing
 *   migration is recorded as applied and its error becomes an unhandled rejection; its shadow
 *   database (for `diff`) is a PGlite it never closes.
 * Both now send the whole script as one simple-query message, which Postgres runs as one implicit
 * transaction: what the native schema engine does.
 */

export function pgliteAdapterFactory(pglite: PGlite): SqlMigrationAwareDriverAdapterFactory {
  // Loaded with the first PGlite: a service on Postgres never needs it.
  const { PrismaPGlite } = require('pglite-prisma-adapter') as typeof import('pglite-prisma-adapter');
  const inner = new PrismaPGlite(pglite);
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => withWholeScripts(await inner.connect(), (script) => pglite.exec(script)),
    connectToShadowDb: async () => {
      const { PGlite } = await import('@electric-sql/pglite');
      const shadow = await PGlite.create();
      const adapter = withWholeScripts(await new PrismaPGlite(shadow).connect(), (script) =>
        shadow.exec(script),
      );
      adapter.dispose = () => shadow.close();
      return adapter;
    },
  };
}

/** For the migration runner only (the client uses PrismaPg as it is). */
export function postgresMigrationAdapterFactory(pool: pg.Pool): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaPg(pool);
  const fix = (adapter: SqlDriverAdapter) => {
    // PrismaPgAdapter's driver is the pg Pool (or the shadow database's Pool).
    const driver = (adapter as SqlDriverAdapter & { underlyingDriver(): pg.Pool }).underlyingDriver();
    return withWholeScripts(adapter, (script) => driver.query(script));
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => fix(await inner.connect()),
    connectToShadowDb: async () => fix(await inner.connectToShadowDb()),
  };
}

function withWholeScripts(
  adapter: SqlDriverAdapter,
  run: (script: string) => Promise<unknown>,
): SqlDriverAdapter {
  adapter.executeScript = async (script: string) => {
    try {
      await run(script);
    } catch (err) {
      throw toDriverAdapterError(err);
    }
  };
  return adapter;
}

/** The shape Prisma's engines expect from a Postgres driver error (as @prisma/adapter-pg reports it). */
function toDriverAdapterError(err: unknown): unknown {
  if (!(err instanceof Error) || typeof (err as { code?: unknown }).code !== 'string') return err;
  const e = err as Error & {
    code: string;
    severity?: string;
    detail?: string;
    column?: string;
    hint?: string;
  };
  return new DriverAdapterError({
    kind: 'postgres',
    code: e.code,
    severity: e.severity ?? 'ERROR',
    message: e.message,
    detail: e.detail,
    column: e.column,
    hint: e.hint,
  });
}
