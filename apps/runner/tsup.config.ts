import { defineConfig } from 'tsup';

// One bundle (plus lazily loaded chunks) built from the workspace packages' sources: start-up reads a few files
// instead of resolving a tree of packages, and modules a command does not use are left out of its chunks
// (every @runnerkit package is `sideEffects: false`). Third-party packages are bundled too, except native addons;
// CommonJS ones (ssh2, the cloud SDKs) get `require`, `__filename` and `__dirname` through the banner.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: true,
  // everything but native addons (ssh2's optional crypto binding, cpu-features): ssh2 falls back to pure JS
  noExternal: [/^(?!cpu-features$)(?!.*\.node$)/],
  external: ['cpu-features', /\.node$/],
  banner: {
    js: [
      "import { createRequire as __runnerkitCreateRequire } from 'node:module';",
      "import { dirname as __runnerkitDirname } from 'node:path';",
      "import { fileURLToPath as __runnerkitFileURLToPath } from 'node:url';",
      'const require = __runnerkitCreateRequire(import.meta.url);',
      'const __filename = __runnerkitFileURLToPath(import.meta.url);',
      'const __dirname = __runnerkitDirname(__filename);',
    ].join(' '),
  },
  esbuildOptions(options) {
    options.conditions = ['source'];
  },
});
