import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * PGlite has no lock of its own: a second instance opens the same folder without complaint and
 * the two then lose each other's writes (checked). So one process owns a folder, marked by
 * `<folder>.lock` holding its pid (beside the folder: PGlite's initdb wants the folder empty),
 * and inside a process one Database at a time owns it.
 */

const ownedHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder or throws; returns the release function. */
export function lockPgliteDir(dataDir: string): () => void {
  if (ownedHere.has(dataDir))
    throw new Error(`PGlite folder ${dataDir} is already open in this process: share that Database`);
  const lockFile = `${dataDir}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && pidAlive(holder)) {
        throw new Error(`PGlite folder ${dataDir} is in use by process ${holder} (${lockFile})`, {
          cause: err,
        });
      }
      // Left behind by a process that died (or by this pid in an earlier life): take it over.
      unlinkSync(lockFile);
    }
  }
  ownedHere.add(dataDir);
  return () => {
    ownedHere.delete(dataDir);
    try {
      unlinkSync(lockFile);
    } catch {
      // Already gone: nothing to release.
    }
  };
}
