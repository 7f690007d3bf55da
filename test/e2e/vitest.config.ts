import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  // Vitest runs tests in Vite's SSR environment, which reads its own conditions: without this, sibling
  // workspace packages resolve to their (possibly stale) dist instead of src.
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // The files share dockerd and a 2-core machine: one at a time keeps timings honest.
    fileParallelism: false,
  },
});
