#!/usr/bin/env node
// Thin launcher so the bin exists before the first build; the CLI itself is dist/main.js.
import('../dist/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/main.js')) {
    process.stderr.write('runnerkit is not built yet: run `pnpm build` first\n');
    process.exit(1);
  }
  throw error;
});
