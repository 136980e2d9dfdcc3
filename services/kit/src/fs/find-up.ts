import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The nearest folder at or above `from` that holds `relative`. Code that finds files of the
 * repository from its own place must search rather than count `..`: it also runs bundled, from
 * dist/<service>/.
 */
export function findUp(from: string, relative: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, relative))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}
