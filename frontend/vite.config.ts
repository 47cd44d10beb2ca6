import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The app is served by the Python server from the package (src/lumiboard/static), at `/` or
// under --path_prefix, so every URL it builds is relative: `base: './'`, `data/...`, `assets/...`.
export default defineConfig({
  base: './',
  plugins: [preact()],
  build: {
    outDir: '../src/lumiboard/static',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // The polyfill would be inlined into index.html, which the server's CSP (script-src 'self')
    // forbids; every browser we target supports <link rel=modulepreload>.
    modulePreload: { polyfill: false },
    sourcemap: false,
    // The mesh dashboard's chunk holds three.js (~570 kB, 145 kB gzipped), loaded only with its tab.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev` against a running `lumiboard --port 6006`.
    proxy: { '/data': 'http://localhost:6006' },
  },
});
