import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defaultSchemaDir, repoRoot } from '../../src/db/migrations-dir';
import { tempDir } from './fixtures';

/**
 * The Prisma client is produced by the build, not kept in the repository: `npm ci` generates it
 * (the root package's `prepare`), the Dockerfiles in their build stage. This fails when the client
 * in the tree is not what prisma/schema makes (the schema changed without `npm run db:generate`),
 * and when git tracks it.
 */
const generated = path.join(repoRoot, 'services/kit/src/db/generated');

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(path.join(dir, d.name), base) : [path.relative(base, path.join(dir, d.name))],
  );
}

test('the generated client is what prisma generate makes of prisma/schema', () => {
  const work = tempDir('generate');
  try {
    // The same layout under a temp folder: the schema (embedded in the client) names its output
    // relative to itself, so it stays byte for byte the same.
    const schemaDir = path.join(work, path.relative(repoRoot, defaultSchemaDir));
    cpSync(defaultSchemaDir, schemaDir, { recursive: true });
    const out = path.join(work, path.relative(repoRoot, generated));
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
    expect(files(out).sort()).toEqual(files(generated).sort());
    for (const f of files(out)) {
      expect({ file: f, text: readFileSync(path.join(out, f), 'utf8') }).toEqual({
        file: f,
        text: readFileSync(path.join(generated, f), 'utf8'),
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 60_000);

test('git does not keep the generated client: the build makes it', () => {
  const tracked = execFileSync('git', ['ls-files', path.relative(repoRoot, generated)], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  expect(tracked.trim()).toBe('');
  const ignored = execFileSync(
    'git',
    ['check-ignore', path.join(path.relative(repoRoot, generated), 'client.ts')],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  expect(ignored.trim()).not.toBe('');
});
