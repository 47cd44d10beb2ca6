import preact from '@preact/preset-vite';
import { defineConfig, type Plugin, type UserConfig } from 'vite';

// The app is served by the Python server from the package (src/lumiboard/static), at `/` or
// under --path_prefix, so every URL it builds is relative: `base: './'`, `data/...`, `assets/...`.
const app: UserConfig = {
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
};

/** In the snapshot build, `dashboards/index.ts` (every dashboard, each loaded on demand) is
 * replaced by `snapshot/dashboards.ts` (the snapshot's dashboards, bundled). */
function snapshotDashboards(): Plugin {
  return {
    name: 'lumiboard-snapshot-dashboards',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!importer || !/(^|\/)dashboards(\/index(\.ts)?)?$/.test(source)) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      const original = /\/src\/dashboards\/index\.ts$/;
      return resolved && original.test(resolved.id) ? resolved.id.replace(original, '/src/snapshot/dashboards.ts') : null;
    },
  };
}

// `vite build --mode snapshot`: the app as one script and one stylesheet (no chunk loaded later:
// a page opened from a file cannot load modules beside it) in src/lumiboard/static/snapshot,
// which `lumiboard snapshot` inlines into a single HTML file with the data.
const snapshot: UserConfig = {
  ...app,
  plugins: [preact(), snapshotDashboards()],
  build: {
    ...app.build,
    outDir: '../src/lumiboard/static/snapshot',
    cssCodeSplit: false,
    // Any file the styles refer to becomes a data: URL.
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    chunkSizeWarningLimit: 1000,
    rolldownOptions: { output: { codeSplitting: false } },
  },
};

export default defineConfig(({ mode }) => (mode === 'snapshot' ? snapshot : app));
