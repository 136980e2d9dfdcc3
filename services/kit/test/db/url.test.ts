import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDatabaseUrl, redactUrl, resolveDatabaseUrl, withDatabaseName } from '../../src/db';
import { parseEnvFile } from '../../src/config';
import { tempDir } from './fixtures';

test('database URLs: Postgres, PGlite folder (relative or absolute), PGlite in memory', () => {
  expect(parseDatabaseUrl('postgresql://u:p@h:5433/db')).toEqual({
    kind: 'postgres',
    url: 'postgresql://u:p@h:5433/db',
  });
  expect(parseDatabaseUrl('postgres://h/db').kind).toBe('postgres');
  expect(parseDatabaseUrl('pglite:///var/lib/tb/pglite')).toEqual({
    kind: 'pglite',
    dataDir: '/var/lib/tb/pglite',
  });
  expect(parseDatabaseUrl('pglite://.data/pglite', '/srv/app')).toEqual({
    kind: 'pglite',
    dataDir: '/srv/app/.data/pglite',
  });
  expect(parseDatabaseUrl('pglite://memory')).toEqual({ kind: 'pglite', dataDir: undefined });
  expect(() => parseDatabaseUrl('mysql://h/db')).toThrow(/must be postgres/);
});

test('DATABASE_URL comes from the environment, else deploy/local/.env', () => {
  const repoRoot = tempDir('repo');
  try {
    expect(resolveDatabaseUrl({ env: {}, repoRoot })).toBeUndefined();
    mkdirSync(path.join(repoRoot, 'deploy/local'), { recursive: true });
    writeFileSync(
      path.join(repoRoot, 'deploy/local/.env'),
      '# written by stack.sh\nexport KAFKA_BROKERS=a:1\nDATABASE_URL="postgresql://testbed:testbed@127.0.0.1:5433/testbed"\n',
    );
    expect(resolveDatabaseUrl({ env: {}, repoRoot })).toBe(
      'postgresql://testbed:testbed@127.0.0.1:5433/testbed',
    );
    expect(resolveDatabaseUrl({ env: { DATABASE_URL: 'pglite://memory' }, repoRoot })).toBe(
      'pglite://memory',
    );
  } finally {
    rmSync(repoRoot, { recursive: true, force: true });
  }
  expect(parseEnvFile("A='x y'\n#B=1\n C = 2 ")).toEqual({ A: 'x y', C: '2' });
});

test('URL helpers: another database on the same server; no password in logs', () => {
  expect(withDatabaseName('postgresql://u:p@h:5433/testbed?sslmode=disable', 'test_1')).toBe(
    'postgresql://u:p@h:5433/test_1?sslmode=disable',
  );
  expect(redactUrl('postgresql://u:secret@h:5433/db')).toBe('postgresql://u:***@h:5433/db');
});
