/**
 * The production build: each service's standalone entry (services/<name>/src/main.ts) bundled
 * with esbuild, run with plain `node` (no tsx, no TypeScript at run time: a fraction of the
 * memory and start-up time). dist/<name>/ holds:
 *
 *   main.js       deploy/build/loader.cjs: runs bundle.js, from bundle.cache when there is one
 *   bundle.js     the entry with the workspace packages and the npm packages it uses
 *   bundle.cache  V8's code cache of bundle.js, for the services started with process-settings.ts's
 *                 flags (SERVICES_WITH_PROCESS_SETTINGS), made with those flags
 *
 * npm packages are bundled too: a service loaded some 1,450 files from node_modules at start
 * (about 100 ms of resolving and reading). Those in `EXTERNAL_PACKAGES` stay outside, loaded from
 * node_modules, and so do those a service's package.json names under `testbedBuild`:
 *
 *   "testbedBuild": {
 *     "bundle": ["dockerode"]                           bundled although EXTERNAL_PACKAGES names them
 *     "external": { "ssh2": "why it stays outside" }   npm packages left out of the bundle
 *     "unavailable": { "ssh2": "why it is never used" } npm packages replaced by a module that
 *                                                       throws, naming them, when anything of theirs is used
 *   }
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
 * dist/migrate/; it reads the migrations from prisma/migrations, found upwards from its folder,
 * so an image holds that folder beside dist/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import {
  SERVICE_NODE_FLAGS,
  SERVICES_WITH_PROCESS_SETTINGS,
} from '../../services/kit/src/host/process-settings';

const repoRoot = path.resolve(__dirname, '..', '..');
const servicesDir = path.join(repoRoot, 'services');
const distDir = path.join(repoRoot, 'dist');
const builtins = new Set(builtinModules);

interface ServiceBuild {
  /** Bundled although `EXTERNAL_PACKAGES` names them (dockerode, where its image builds are `unavailable`). */
  bundle?: string[];
  external?: Record<string, string>;
  unavailable?: Record<string, string>;
  /** Write PGLITE_SEED_FILE beside the bundle: a migrated PGlite folder its new data folder starts from. */
  pgliteSeed?: boolean;
}

/** npm packages no bundle includes, and why: they stay in node_modules (copied for an image). */
export const EXTERNAL_PACKAGES: Readonly<Record<string, string>> = {
  '@kubernetes/client-node':
    'an ES module of 14 MB, loaded only by a replica inside a cluster (the leader lease)',
  '@opentelemetry/exporter-trace-otlp-http':
    'loaded only when traces are exported (OTEL_EXPORTER_OTLP_ENDPOINT)',
  'swagger-ui-dist': 'the docs page serves its files from its folder',
  '@prisma/schema-engine-wasm': 'the migrations read its wasm from its folder',
  '@electric-sql/pglite': 'reads its wasm and data files from its folder',
  dockerode:
    'its BuildKit session reads .proto files from its folder (a service that builds no images bundles it)',
  ssh2: "docker-modem's ssh:// transport: a native binding and wasm files of its own",
};

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

/** Workspace and npm packages bundled, but for `EXTERNAL_PACKAGES` and the service's own list. */
function dependencyPlugin(opts: ServiceBuild): Plugin {
  const bundled = new Set(opts.bundle ?? []);
  const external = new Set(
    [...Object.keys(EXTERNAL_PACKAGES), ...Object.keys(opts.external ?? {})].filter((p) => !bundled.has(p)),
  );
  const unavailable = opts.unavailable ?? {};
  return {
    name: 'testbed-dependencies',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || builtins.has(args.path)) return { external: true };
        const pkg = packageOf(args.path);
        if (pkg in unavailable) return { path: pkg, namespace: 'testbed-unavailable' };
        return external.has(pkg) ? { external: true } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'testbed-unavailable' }, (args) => ({
        contents: unavailableModule(args.path, unavailable[args.path]!),
        loader: 'js',
      }));
    },
  };
}

/**
 * Work packages do at load that a service's start does not need, changed at build time: a check
 * for a runtime other than Node (bundles run on Node only), a dependency loaded before anything
 * can use it. Each names the file, the exact text and what replaces it; the build fails when the
 * text is not there once (a new version of the package), so no change goes unseen.
 */
const LOAD_TIME_EDITS: ReadonlyArray<{ file: RegExp; text: string; replacement: string; why: string }> = [
  {
    file: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/,
    text: 'if (isCloudflareRuntime()) {',
    replacement: 'if (false) {',
    why:
      'pg asks whether it runs in a Cloudflare Worker by making a fetch Response, and on Node 20 that ' +
      "loads undici, about 20 ms of a service's 300 ms start; on Node the answer is always no",
  },
  {
    file: /[\\/]node_modules[\\/]docker-modem[\\/]lib[\\/]ssh\.js$/,
    text: "var Client = require('ssh2').Client,",
    replacement: "var Client = function () { return new (require('ssh2').Client)(); },",
    why:
      'docker-modem loads ssh2 (which signs test data at load to probe its ciphers, 10-15 ms) for ' +
      'its ssh:// transport; it is now loaded when a daemon is first dialled over ssh://',
  },
  {
    file: /[\\/]kit[\\/]src[\\/]db[\\/]generated[\\/]internal[\\/]class\.ts$/,
    text: 'return new WebAssembly.Module(wasmArray)',
    replacement: 'return WebAssembly.compile(wasmArray)',
    why:
      'the generated Prisma client compiles its 1.7 MB query compiler with the synchronous ' +
      'WebAssembly.Module, 10-15 ms of the main thread in the start; WebAssembly.compile (its ' +
      "function is async already) does that work on V8's background threads",
  },
];

function loadTimeEditsPlugin(): Plugin {
  return {
    name: 'testbed-load-time-edits',
    setup(b) {
      for (const check of LOAD_TIME_EDITS)
        b.onLoad({ filter: check.file }, (args) => {
          const source = fs.readFileSync(args.path, 'utf8');
          const found = source.split(check.text).length - 1;
          if (found !== 1)
            throw new Error(
              `${args.path}: expected "${check.text}" once, found it ${found} times (${check.why}); update LOAD_TIME_EDITS`,
            );
          const loader = args.path.endsWith('.ts') ? 'ts' : 'js';
          return { contents: source.replace(check.text, check.replacement), loader };
        });
    },
  };
}

/**
 * Large data a package embeds in its JavaScript, written beside the bundle instead: V8 keeps a
 * script's whole source for as long as it runs, and parses a lazy module's text when it first
 * runs. Prisma's query compiler is 2.3 MB of base64 (40 % of a service bundle); the module that
 * held it now reads the same text from `file` when the client first connects.
 */
const ASSETS_OUT_OF_THE_BUNDLE: ReadonlyArray<{ module: RegExp; file: string; exportName: string }> = [
  {
    module: /[\\/]@prisma[\\/]client[\\/]runtime[\\/]query_compiler_small_bg\.postgresql\.wasm-base64\.js$/,
    file: 'query-compiler.wasm.b64',
    exportName: 'wasm',
  },
];

function assetPlugin(outDir: string): Plugin {
  return {
    name: 'testbed-assets',
    setup(b) {
      for (const asset of ASSETS_OUT_OF_THE_BUNDLE)
        b.onLoad({ filter: asset.module }, (args) => {
          // Evaluated here as the package ships it: the file holds exactly the string it exported.
          const exported = (require(args.path) as Record<string, unknown>)[asset.exportName];
          if (typeof exported !== 'string')
            throw new Error(`${args.path}: no string export "${asset.exportName}" to write to ${asset.file}`);
          fs.mkdirSync(outDir, { recursive: true });
          fs.writeFileSync(path.join(outDir, asset.file), exported, 'latin1');
          const file = JSON.stringify(asset.file);
          return {
            contents: `'use strict';
// ${asset.file} beside the bundle (deploy/build/build.ts, ASSETS_OUT_OF_THE_BUNDLE).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
Object.defineProperty(exports, ${JSON.stringify(asset.exportName)}, {
  enumerable: true,
  get: () => readFileSync(join(__dirname, ${file}), 'latin1'),
});
`,
            loader: 'js',
          };
        });
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

/** The npm packages bundled, from esbuild's metafile. */
function bundledPackages(meta: Metafile): string[] {
  const out = new Set<string>();
  for (const input of Object.keys(meta.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    if (m) out.add(m[1]!);
  }
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
 * here. Optional dependencies that are not installed (other platforms' binaries) are skipped, and
 * so are roots outside `required`: esbuild leaves a require() it cannot resolve inside a try block
 * to run time (ws's bufferutil, pg's pg-native), and the package does without it.
 */
function copyPackages(roots: string[], required: ReadonlySet<string>, outDir: string): number {
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
  for (const name of roots) visit(name, repoRoot, !required.has(name));
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

export interface BuiltService {
  /** dist/<name>/main.js, the loader. */
  outfile: string;
  /** Size of bundle.js. */
  bytes: number;
  /** npm packages loaded from node_modules at run time. */
  external: string[];
  /** npm packages inside bundle.js. */
  bundled: string[];
  /** Packages copied to dist/<name>/node_modules (`nodeModules`). */
  copied: number;
  /** Size of bundle.cache, 0 when the service has none. */
  codeCacheBytes: number;
  /** Size of the PGlite seed, 0 when the service has none. */
  seedBytes: number;
}

const loaderSource = path.join(__dirname, 'loader.cjs');

/**
 * Writes dist/<name>/bundle.cache with the flags the service runs with (loader.cjs says how).
 * Refused, or past 30 s, it fails the build: a service that does not stop at its configuration
 * check without one would start for real here.
 */
function writeCodeCache(outDir: string): number {
  const r = spawnSync(
    process.execPath,
    [...SERVICE_NODE_FLAGS, path.join(outDir, 'main.js'), '--write-code-cache'],
    {
      cwd: outDir,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (r.status !== 0)
    throw new Error(
      `writing the code cache of ${outDir} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`,
    );
  return fs.statSync(path.join(outDir, 'bundle.cache')).size;
}

export async function buildService(
  name: string,
  opts: { nodeModules?: boolean; outRoot?: string } = {},
): Promise<BuiltService> {
  const serviceDir = path.join(servicesDir, name);
  const other = Object.hasOwn(otherEntries, name) ? otherEntries[name] : undefined;
  const entry = other ? path.join(repoRoot, other) : path.join(serviceDir, 'src', 'main.ts');
  if (!fs.existsSync(entry)) throw new Error(`services/${name}/src/main.ts does not exist`);
  const manifest = other
    ? {}
    : readJson<{ testbedBuild?: ServiceBuild }>(path.join(serviceDir, 'package.json'));
  const config = manifest.testbedBuild ?? {};
  const outDir = path.join(opts.outRoot ?? distDir, name);
  fs.rmSync(outDir, { recursive: true, force: true });
  const bundleFile = path.join(outDir, 'bundle.js');
  const result = await build({
    entryPoints: [entry],
    outfile: bundleFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    // import() becomes require() (loader.cjs says why); Node >= 20.19 requires ES modules too.
    supported: { 'dynamic-import': false },
    format: 'cjs',
    // V8 keeps a script's source for as long as it runs: whitespace and syntax minified (names
    // kept, so stack traces still name functions; bundle.js.map maps them back).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    tsconfig: path.join(repoRoot, 'tsconfig.json'),
    plugins: [dependencyPlugin(config), loadTimeEditsPlugin(), assetPlugin(outDir)],
  });
  // Its own SHA-256 last (after the source map comment, so no mapping moves): the code cache names
  // the bundle it was made from by it (loader.cjs).
  const id = createHash('sha256').update(fs.readFileSync(bundleFile)).digest('hex');
  fs.appendFileSync(bundleFile, `// testbed-bundle ${id}\n`);
  const outfile = path.join(outDir, 'main.js');
  fs.copyFileSync(loaderSource, outfile);
  const external = externalPackages(result.metafile);
  const required = new Set(
    [...Object.keys(EXTERNAL_PACKAGES), ...Object.keys(config.external ?? {})].filter(
      (p) => !config.bundle?.includes(p),
    ),
  );
  const copied = opts.nodeModules ? copyPackages(external, required, outDir) : 0;
  const codeCacheBytes = SERVICES_WITH_PROCESS_SETTINGS.includes(name) ? writeCodeCache(outDir) : 0;
  const seedBytes = config.pgliteSeed ? await writeSeed(outDir) : 0;
  return {
    outfile,
    bytes: fs.statSync(bundleFile).size,
    external,
    bundled: bundledPackages(result.metafile),
    copied,
    codeCacheBytes,
    seedBytes,
  };
}

/** The migrated PGlite folder a new data folder starts from (initdb is most of a first start). */
async function writeSeed(outDir: string): Promise<number> {
  // Loaded only here: the kit's database layer (Prisma, PGlite) is no business of other bundles.
  const { PGLITE_SEED_FILE, writePgliteSeed } = await import('../../services/kit/src/db/pglite-seed');
  return (await writePgliteSeed(path.join(outDir, PGLITE_SEED_FILE))).bytes;
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
      `build: ${path.relative(repoRoot, path.dirname(r.outfile))}/bundle.js ${(r.bytes / 1024).toFixed(0)} kB` +
        (r.codeCacheBytes ? `, bundle.cache ${(r.codeCacheBytes / 1024).toFixed(0)} kB` : '') +
        (r.seedBytes ? `, PGlite seed ${(r.seedBytes / 1024).toFixed(0)} kB` : '') +
        ` in ${Date.now() - t0} ms; ` +
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
