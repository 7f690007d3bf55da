// Vitest globalSetup: gives every test file a directory to count into, and prints the suite's summary at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatSummary, readCounts } from './stats.js';

declare module 'vitest' {
  export interface ProvidedContext {
    reliabilityStatsDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = await mkdtemp(join(tmpdir(), 'runnerkit-reliability-stats-'));
  project.provide('reliabilityStatsDir', directory);
  return async () => {
    const counts = await readCounts(directory);
    await rm(directory, { recursive: true, force: true });
    process.stderr.write(`\n${formatSummary(counts)}\n`);
    if (counts.leftoversFound > 0) {
      throw new Error(`reliability suite: ${counts.leftoversFound} Docker object(s) were left behind by faulty jobs`);
    }
  };
}
