/**
 * Builds the portal with Vite into services/portal/dist and prints what it ships: the JavaScript
 * and CSS, raw and gzipped (the budget is 250 kB of gzipped JavaScript), and how long it took.
 *   npm run build:portal              build
 *   tsx services/portal/scripts/build.ts --if-stale   only when dist is missing or older than the sources (npm start)
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleSizes, formatSizes, JS_BUDGET_GZIP_BYTES } from './bundle-size';

const portalDir = path.resolve(__dirname, '..');
const distDir = path.join(portalDir, 'dist');
const inputs = ['index.html', 'vite.config.mts', 'package.json', 'src/app'].map((p) =>
  path.join(portalDir, p),
);

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

export function isStale(): boolean {
  const index = path.join(distDir, 'index.html');
  if (!fs.existsSync(index)) return true;
  return Math.max(...inputs.map(newestMtime)) > fs.statSync(index).mtimeMs;
}

export async function buildPortal(): Promise<{ ms: number }> {
  const started = Date.now();
  // A production build whoever runs it: Jest sets NODE_ENV=test, which Vite would otherwise keep
  // (shipping the libraries' development code).
  process.env.NODE_ENV = 'production';
  // Vite is ESM only; the specifier is a variable so that this CommonJS script keeps a real import().
  const specifier = 'vite';
  const { build } = (await import(specifier)) as {
    build(config: { root: string; configFile: string; logLevel: 'warn'; mode: string }): Promise<unknown>;
  };
  await build({
    root: portalDir,
    configFile: path.join(portalDir, 'vite.config.mts'),
    logLevel: 'warn',
    mode: 'production',
  });
  return { ms: Date.now() - started };
}

async function main(): Promise<void> {
  if (process.argv.includes('--if-stale') && !isStale()) {
    process.stdout.write('portal: dist is up to date\n');
    return;
  }
  const { ms } = await buildPortal();
  const sizes = bundleSizes(distDir);
  process.stdout.write(
    `portal: built ${path.relative(process.cwd(), distDir) || distDir} in ${(ms / 1000).toFixed(1)} s\n`,
  );
  process.stdout.write(formatSizes(sizes));
  if (sizes.jsGzip > JS_BUDGET_GZIP_BYTES) {
    process.stderr.write(
      `portal: the JavaScript is over its budget of ${JS_BUDGET_GZIP_BYTES / 1000} kB gzipped\n`,
    );
    process.exit(1);
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    process.stderr.write(
      `portal: build failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
