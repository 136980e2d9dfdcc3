/** Small files with one job (STYLE 10): no source file of a service is over 400 lines. */
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const MAX_LINES = 400;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'generated' || d.name === 'node_modules' ? [] : sources(p);
    return /\.(ts|tsx|mts|cts|js|mjs)$/.test(d.name) ? [p] : [];
  });
}

test(`no source file in services/*/src is over ${MAX_LINES} lines`, () => {
  const servicesDir = path.join(repoRoot, 'services');
  const files = fs
    .readdirSync(servicesDir)
    .map((s) => path.join(servicesDir, s, 'src'))
    .filter((d) => fs.existsSync(d))
    .flatMap(sources);
  expect(files.length).toBeGreaterThan(50);
  const long = files
    .map((f) => ({
      file: path.relative(repoRoot, f),
      lines: fs.readFileSync(f, 'utf8').split('\n').length - 1,
    }))
    .filter((f) => f.lines > MAX_LINES);
  expect(long).toEqual([]);
});
