import { defineConfig } from 'vite';

/**
 * The portal's build: one HTML page, hashed assets under assets/, no inline script (the CSP
 * forbids it), Preact's JSX through Vite's own transform. Built offline, nothing fetched.
 */
export default defineConfig({
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The module preload polyfill is inlined into the entry, not an inline <script>.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
