import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from './database';
import { migrateDatabase } from './migrate';

/** Beside the embedded default's bundle (dist/embedded): what its new data folder starts from. */
export const PGLITE_SEED_FILE = 'pglite-seed.tar.gz';

/**
 * Writes `file`: a PGlite data folder made by initdb and every migration, as PGlite's gzip
 * tarball (`dumpDataDir`). A new folder opened with it (`pgliteSeed`) skips initdb, which is most
 * of a first start; the build makes it with the PGlite it ships, so the two always match.
 */
export async function writePgliteSeed(file: string): Promise<{ bytes: number; migrations: number }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pglite-seed-'));
  try {
    const db = await openDatabase({ url: `pglite://${path.join(work, 'pglite')}` });
    try {
      const { applied } = await migrateDatabase({ database: db });
      const dump = await db.pglite!.dumpDataDir('gzip');
      const bytes = Buffer.from(await dump.arrayBuffer());
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, bytes);
      return { bytes: bytes.length, migrations: applied.length };
    } finally {
      await db.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
