import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** What the portal ships at most: gzipped JavaScript, the budget. */
export const JS_BUDGET_GZIP_BYTES = 250_000;

export interface BundleSizes {
  files: { file: string; bytes: number; gzip: number }[];
  js: number;
  jsGzip: number;
  css: number;
  cssGzip: number;
}

/** Sizes of the built files, gzipped as a server would send them (level 9). */
export function bundleSizes(distDir: string): BundleSizes {
  const files: BundleSizes['files'] = [];
  const walk = (dir: string) => {
    for (const f of fs.readdirSync(dir)) {
      const p = path.join(dir, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else {
        const data = fs.readFileSync(p);
        files.push({
          file: path.relative(distDir, p),
          bytes: data.length,
          gzip: zlib.gzipSync(data, { level: 9 }).length,
        });
      }
    }
  };
  walk(distDir);
  const sum = (ext: string, key: 'bytes' | 'gzip') =>
    files.filter((f) => f.file.endsWith(ext)).reduce((a, f) => a + f[key], 0);
  return {
    files,
    js: sum('.js', 'bytes'),
    jsGzip: sum('.js', 'gzip'),
    css: sum('.css', 'bytes'),
    cssGzip: sum('.css', 'gzip'),
  };
}

export function formatSizes(s: BundleSizes): string {
  const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;
  return (
    s.files.map((f) => `  ${f.file}  ${kb(f.bytes)} (${kb(f.gzip)} gzipped)\n`).join('') +
    `  JavaScript: ${kb(s.js)}, ${kb(s.jsGzip)} gzipped (budget ${kb(JS_BUDGET_GZIP_BYTES)}); CSS: ${kb(s.css)}, ${kb(s.cssGzip)} gzipped\n`
  );
}
