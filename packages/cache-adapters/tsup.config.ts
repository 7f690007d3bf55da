import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    local: 'src/adapters/local.ts',
    s3: 'src/adapters/s3.ts',
    gcs: 'src/adapters/gcs.ts',
    azure: 'src/adapters/azure.ts',
    archive: 'src/archive/index.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The conformance suite runs inside the caller's vitest.
  external: ['vitest'],
});
