import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defaultSchemaDir, repoRoot } from '../../src/db/migrations-dir';
import { tempDir } from './fixtures';

/**
 * The generated client is committed (a fresh clone runs without a generate step). This fails when
 * someone changed prisma/schema without `npm run db:generate`.
 */
const committed = path.join(repoRoot, 'services/kit/src/db/generated');

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(path.join(dir, d.name), base) : [path.relative(base, path.join(dir, d.name))],
  );
}

test('the committed client is what prisma generate makes of prisma/schema', () => {
  const work = tempDir('generate');
  try {
    // The same layout under a temp folder: the schema (embedded in the client) names its output
    // relative to itself, so it stays byte for byte the same.
    const schemaDir = path.join(work, path.relative(repoRoot, defaultSchemaDir));
    cpSync(defaultSchemaDir, schemaDir, { recursive: true });
    const out = path.join(work, path.relative(repoRoot, committed));
    execFileSync(
      process.execPath,
      [require.resolve('prisma/build/index.js'), 'generate', '--schema', schemaDir],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          CHECKPOINT_DISABLE: '1',
          PRISMA_SCHEMA_ENGINE_BINARY: path.join(repoRoot, 'package.json'),
        },
        stdio: 'pipe',
      },
    );
    expect(files(out).sort()).toEqual(files(committed).sort());
    for (const f of files(out)) {
      expect({ file: f, text: readFileSync(path.join(out, f), 'utf8') }).toEqual({
        file: f,
        text: readFileSync(path.join(committed, f), 'utf8'),
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 60_000);
