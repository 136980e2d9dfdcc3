/**
 * The production build: each service's standalone entry (services/<name>/src/main.ts) bundled
 * with esbuild into dist/<name>/main.js, run with plain `node` (no tsx, no TypeScript at run
 * time: a fraction of the memory and start-up time). Workspace packages (@testbed/*) are
 * bundled; npm packages stay external and load from node_modules, unless the service's
 * package.json says otherwise under `testbedBuild`:
 *
 *   "testbedBuild": {
 *     "bundle": ["dockerode", "docker-modem"],          npm packages bundled too
 *     "unavailable": { "ssh2": "why it is never used" } npm packages replaced by a module that
 *   }                                                   throws, naming them, when anything of theirs is used
 *
 *   npm run build                        every service that has src/main.ts, and `migrate`
 *   npm run build -- node-agent stats    only these
 *   npm run build -- --node-modules node-agent
 *       also copies the npm packages the bundle loads (and theirs) into dist/<name>/node_modules,
 *       so dist/<name> runs on its own (the final stage of each services/<name>/Dockerfile)
 *
 * The Prisma client (services/kit/src/db/generated) is generated first when it is missing or
 * older than prisma/schema.
 *
 * `migrate` is prisma/migrate.ts (`npm run db:migrate`, the chart's migrations Job) bundled into
 * dist/migrate/main.js; it reads the migrations from prisma/migrations, found upwards from its
 * folder, so an image holds that folder beside dist/.
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';

const repoRoot = path.resolve(__dirname, '..', '..');
const servicesDir = path.join(repoRoot, 'services');
const distDir = path.join(repoRoot, 'dist');
const builtins = new Set(builtinModules);

interface ServiceBuild {
  bundle?: string[];
  unavailable?: Record<string, string>;
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Bundles that are not a service's src/main.ts: name → entry, from the repository root. */
export const otherEntries: Readonly<Record<string, string>> = { migrate: 'prisma/migrate.ts' };

export function servicesWithEntry(): string[] {
  return fs
    .readdirSync(servicesDir)
    .filter((name) => fs.existsSync(path.join(servicesDir, name, 'src', 'main.ts')))
    .sort();
}

function unavailableModule(pkg: string, why: string): string {
  return `'use strict';
const message = (what) => ${JSON.stringify(pkg)} + (what ? '.' + what : '') + ' is not in this build: ' + ${JSON.stringify(why)};
const refuse = (what) => function unavailable() { throw new Error(message(what)); };
module.exports = new Proxy({}, {
  get: (_, key) => (key === '__esModule' ? false : typeof key === 'symbol' ? undefined : refuse(String(key))),
});
`;
}

/** npm packages external, workspace packages and the service's `bundle` list bundled. */
function dependencyPlugin(opts: ServiceBuild): Plugin {
  const bundled = new Set(opts.bundle ?? []);
  const unavailable = opts.unavailable ?? {};
  return {
    name: 'testbed-dependencies',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || builtins.has(args.path)) return { external: true };
        const pkg = packageOf(args.path);
        if (pkg in unavailable) return { path: pkg, namespace: 'testbed-unavailable' };
        if (pkg.startsWith('@testbed/') || bundled.has(pkg)) return undefined;
        return { external: true };
      });
      b.onLoad({ filter: /.*/, namespace: 'testbed-unavailable' }, (args) => ({
        contents: unavailableModule(args.path, unavailable[args.path]!),
        loader: 'js',
      }));
    },
  };
}

/** The npm packages a bundle loads at run time, from esbuild's metafile. */
function externalPackages(meta: Metafile): string[] {
  const out = new Set<string>();
  for (const output of Object.values(meta.outputs))
    for (const imp of output.imports)
      if (imp.external && !imp.path.startsWith('node:') && !builtins.has(imp.path))
        out.add(packageOf(imp.path));
  return [...out].sort();
}

/** The package folder Node would load `name` from, for code in `fromDir`. */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

/**
 * Copies `roots` and everything they depend on into `outDir/node_modules`, each package at the
 * same place under node_modules as in the repository, so Node resolves exactly what it resolves
 * here. Optional dependencies that are not installed (other platforms' binaries) are skipped.
 */
function copyPackages(roots: string[], outDir: string): number {
  const placed = new Map<string, string>();
  const visit = (name: string, fromDir: string, optional: boolean) => {
    const dir = packageDir(name, fromDir);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name} (needed from ${path.relative(repoRoot, fromDir) || '.'}) is not installed`);
    }
    if (placed.has(dir)) return;
    const rel = path.relative(repoRoot, dir);
    placed.set(dir, rel.startsWith(`node_modules${path.sep}`) ? rel : path.join('node_modules', name));
    const pkg = readJson<{
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    }>(path.join(dir, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
    // A peer the repository has installed is what the package loads here; a missing one it does
    // without. A peer the package itself calls optional is left out: it is there for the
    // development tools (@prisma/client names the prisma CLI and typescript), and whatever the
    // bundle loads of it is a root of its own.
    for (const dep of Object.keys(pkg.peerDependencies ?? {}))
      if (!pkg.peerDependenciesMeta?.[dep]?.optional) visit(dep, dir, true);
  };
  for (const name of roots) visit(name, repoRoot, false);
  for (const [dir, rel] of placed) {
    fs.cpSync(dir, path.join(outDir, rel), {
      recursive: true,
      dereference: true,
      // The packages' own times: an unchanged package copies as unchanged (a Docker build context).
      preserveTimestamps: true,
      // Nested node_modules are copied as packages of their own, only when something needs them.
      filter: (src) => path.relative(dir, src).split(path.sep)[0] !== 'node_modules',
    });
  }
  return placed.size;
}

export async function buildService(
  name: string,
  opts: { nodeModules?: boolean; outRoot?: string } = {},
): Promise<{ outfile: string; bytes: number; external: string[]; copied: number }> {
  const serviceDir = path.join(servicesDir, name);
  const other = Object.hasOwn(otherEntries, name) ? otherEntries[name] : undefined;
  const entry = other ? path.join(repoRoot, other) : path.join(serviceDir, 'src', 'main.ts');
  if (!fs.existsSync(entry)) throw new Error(`services/${name}/src/main.ts does not exist`);
  const manifest = other
    ? {}
    : readJson<{ testbedBuild?: ServiceBuild }>(path.join(serviceDir, 'package.json'));
  const outDir = path.join(opts.outRoot ?? distDir, name);
  fs.rmSync(outDir, { recursive: true, force: true });
  const outfile = path.join(outDir, 'main.js');
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    tsconfig: path.join(repoRoot, 'tsconfig.json'),
    plugins: [dependencyPlugin(manifest.testbedBuild ?? {})],
  });
  const external = externalPackages(result.metafile);
  const copied = opts.nodeModules ? copyPackages(external, outDir) : 0;
  return { outfile, bytes: fs.statSync(outfile).size, external, copied };
}

const generatedClient = path.join(servicesDir, 'kit', 'src', 'db', 'generated', 'client.ts');
const schemaDir = path.join(repoRoot, 'prisma', 'schema');

/**
 * The Prisma client the bundles include is generated from prisma/schema (git does not keep it):
 * made here when it is missing or older than a schema file, so the build alone suffices.
 */
export function ensureGeneratedClient(): boolean {
  const newestSchema = Math.max(
    ...fs.readdirSync(schemaDir).map((f) => fs.statSync(path.join(schemaDir, f)).mtimeMs),
  );
  if (fs.existsSync(generatedClient) && fs.statSync(generatedClient).mtimeMs >= newestSchema) return false;
  execFileSync('npm', ['run', '--silent', 'db:generate'], { cwd: repoRoot, stdio: 'inherit' });
  return true;
}

async function cli(argv: string[]): Promise<void> {
  const nodeModules = argv.includes('--node-modules');
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--node-modules');
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')} (only --node-modules)`);
  const asked = argv.filter((a) => !a.startsWith('-'));
  const names = asked.length > 0 ? asked : [...servicesWithEntry(), ...Object.keys(otherEntries)];
  if (ensureGeneratedClient())
    process.stdout.write('build: generated the Prisma client from prisma/schema\n');
  for (const name of names) {
    const t0 = Date.now();
    const r = await buildService(name, { nodeModules });
    process.stdout.write(
      `build: ${path.relative(repoRoot, r.outfile)} ${(r.bytes / 1024).toFixed(0)} kB in ${Date.now() - t0} ms; ` +
        `npm packages loaded at run time: ${r.external.join(', ') || 'none'}` +
        (nodeModules
          ? `; ${r.copied} packages copied to ${path.relative(repoRoot, path.dirname(r.outfile))}/node_modules`
          : '') +
        '\n',
    );
  }
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
