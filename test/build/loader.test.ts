/**
 * The production build's loader (deploy/build/loader.cjs) and its code cache, on a real bundle:
 * quota built into a folder of its own. What V8 writes is taken back by the same node with the
 * same flags and refused (with one line on stderr, the bundle compiling from source) by other
 * flags or a damaged file; the bundle runs the same either way; `--write-code-cache` writes
 * nothing when the bundle does not stop at its configuration check. And the bundle still loads
 * an ES-module-only package, which it does by require() (the loader explains why).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '@testbed/kit/src/host/process-settings';
import { buildService } from '../../deploy/build/build';
import { repoRoot } from '../support/rig';

// Inside the repository, so the bundle's external packages resolve from its node_modules.
const outRoot = fs.mkdtempSync(path.join(repoRoot, 'dist', '.loader-test-'));
const dir = path.join(outRoot, 'quota');
const main = path.join(dir, 'main.js');
const cache = path.join(dir, 'bundle.cache');
const rejected = /bundle\.cache was made by another Node or with other flags/;
const mismatched = /bundle\.cache does not match bundle\.js \(another build, or damaged\)/;

afterAll(() => fs.rmSync(outRoot, { recursive: true, force: true }));

/** Preloaded (`--require`): says at exit whether undici and ssh2 were loaded. */
const loadProbe = path.join(outRoot, 'load-probe.cjs');
fs.writeFileSync(
  loadProbe,
  `process.on('exit', () => {
  const undici = process.moduleLoadList.some((m) => m.includes('undici'));
  const ssh2 = Object.keys(require.cache).some((f) => f.includes('/node_modules/ssh2/'));
  process.stderr.write('undici loaded: ' + undici + '\\nssh2 loaded: ' + ssh2 + '\\n');
});
`,
);

/** The service with an empty environment: it loads every module, then refuses to start (exit 2). */
function runEmpty(flags: readonly string[], args: string[] = []) {
  return spawnSync(process.execPath, [...flags, main, ...args], {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

beforeAll(async () => {
  const built = await buildService('quota', { outRoot });
  expect(built.codeCacheBytes).toBeGreaterThan(100_000);
  expect(built.bundled).toEqual(
    expect.arrayContaining(['express', 'kafkajs', 'pg', '@prisma/client', 'zod']),
  );
  expect(built.external).toEqual(expect.arrayContaining(['@kubernetes/client-node', 'swagger-ui-dist']));
}, 120_000);

test('the cache the build wrote is taken by node with the service flags, and the service runs to its configuration check', () => {
  const r = runEmpty(SERVICE_NODE_FLAGS);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('quota: cannot start.');
  expect(r.stderr).toContain('DATABASE_URL');
  expect(r.stderr).not.toMatch(rejected);
  expect(r.stderr).not.toMatch(mismatched);
});

test('other V8 flags, a damaged cache or another build’s: refused in one line, and the bundle runs all the same', () => {
  const other = runEmpty(['--max-semi-space-size=4']);
  expect(other.status).toBe(2);
  expect(other.stderr).toMatch(rejected);
  expect(other.stderr).toContain('quota: cannot start.');

  const good = fs.readFileSync(cache);
  try {
    const damaged = Buffer.from(good);
    damaged.fill(0x5a, 64, 4096);
    fs.writeFileSync(cache, damaged);
    const r = runEmpty(SERVICE_NODE_FLAGS);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(mismatched);
    expect(r.stderr).toContain('quota: cannot start.');
  } finally {
    fs.writeFileSync(cache, good);
  }
  // Another build's bundle of the very same length (V8 would take the cache for it).
  const bundle = path.join(dir, 'bundle.js');
  const source = fs.readFileSync(bundle, 'utf8');
  try {
    fs.writeFileSync(
      bundle,
      source.replace(
        /testbed-bundle ([0-9a-f])/,
        (_, c: string) => `testbed-bundle ${c === 'a' ? 'b' : 'a'}`,
      ),
    );
    const r = runEmpty(SERVICE_NODE_FLAGS);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(mismatched);
  } finally {
    fs.writeFileSync(bundle, source);
  }
});

test('--write-code-cache ignores the environment, writes a cache that is then taken, and exits 0', () => {
  fs.rmSync(cache);
  const r = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, main, '--write-code-cache'], {
    cwd: os.tmpdir(),
    // A full configuration: the loader drops it, so nothing starts for real.
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/x',
      KAFKA_BROKERS: '127.0.0.1:1',
      PORT: '0',
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  expect(fs.statSync(cache).size).toBeGreaterThan(100_000);
  const again = runEmpty(SERVICE_NODE_FLAGS);
  expect(again.stderr).not.toMatch(rejected);
  expect(again.stderr).not.toMatch(mismatched);
});

test('--write-code-cache of a bundle that does not stop at its configuration check: nothing written, its output shown, exit 1', () => {
  const bundle = path.join(dir, 'bundle.js');
  const source = fs.readFileSync(bundle);
  fs.rmSync(cache);
  try {
    fs.writeFileSync(bundle, "console.log('a bundle that ends by itself'); process.exitCode = 0;\n");
    const r = runEmpty(SERVICE_NODE_FLAGS, ['--write-code-cache']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('a bundle that ends by itself');
    expect(r.stderr).toContain(
      '--write-code-cache: the bundle ended with 0, not at its configuration check (2)',
    );
    expect(fs.existsSync(cache)).toBe(false);
  } finally {
    fs.writeFileSync(bundle, source);
  }
});

test('an ES-module-only package is required, not imported: Node >= 20.19 loads it so from the bundle folder', () => {
  const bundle = fs.readFileSync(path.join(dir, 'bundle.js'), 'utf8');
  // No import() is left for Node to run (it cannot from a script compiled with cached data).
  expect(bundle).not.toMatch(/[^.\w$]import\(/);
  expect(bundle).toContain('require("@kubernetes/client-node")');
  const r = spawnSync(
    process.execPath,
    [
      ...SERVICE_NODE_FLAGS,
      '-e',
      "process.stdout.write(typeof require('@kubernetes/client-node').KubeConfig)",
    ],
    { cwd: dir, encoding: 'utf8', timeout: 30_000 },
  );
  expect(r.stderr).not.toMatch(/ERR_REQUIRE_ESM/);
  expect(r.stdout).toBe('function');
});

test('the bundle holds no Prisma query compiler (it reads the file beside it) and loads no undici on Node', () => {
  const bundle = fs.readFileSync(path.join(dir, 'bundle.js'), 'utf8');
  const { wasm } = require('@prisma/client/runtime/query_compiler_small_bg.postgresql.wasm-base64.js') as {
    wasm: string;
  };
  expect(fs.readFileSync(path.join(dir, 'query-compiler.wasm.b64'), 'latin1')).toBe(wasm);
  expect(bundle.includes(wasm.slice(0, 4096))).toBe(false);
  // pg's Cloudflare check made a fetch Response at load, which loads undici on Node 20.
  const r = runEmpty(['--require', loadProbe, ...SERVICE_NODE_FLAGS]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('undici loaded: false');
});

test('provisioning starts without ssh2 (docker-modem’s ssh:// transport), which stays beside it for a dial over ssh://', async () => {
  const built = await buildService('provisioning', { outRoot, nodeModules: true });
  expect(built.external).toContain('ssh2');
  expect(fs.existsSync(path.join(outRoot, 'provisioning', 'node_modules', 'ssh2', 'package.json'))).toBe(
    true,
  );
  const r = spawnSync(
    process.execPath,
    ['--require', loadProbe, path.join(outRoot, 'provisioning', 'main.js')],
    {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('provisioning: cannot start.');
  expect(r.stderr).toContain('ssh2 loaded: false');
}, 120_000);
