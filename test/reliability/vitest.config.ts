import { defineConfig } from 'vitest/config';

const soak = process.env.RUNNERKIT_SOAK === '1';

export default defineConfig({
  resolve: { conditions: ['source'] },
  // Vitest runs tests in Vite's SSR environment, which reads its own conditions: without this, sibling
  // workspace packages resolve to their (possibly stale) dist instead of src.
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: soak ? 1_800_000 : 120_000,
    hookTimeout: 120_000,
    // The files share dockerd, the CLI and a 2-core machine: one at a time keeps timings honest.
    fileParallelism: false,
    globalSetup: ['./src/support/summary-setup.ts'],
  },
});
