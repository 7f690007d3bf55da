// Counters for the suite's closing summary. Test files run in workers, so each count is appended to a file in the
// directory the global setup provides; the teardown adds them up.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { CountName } from './stats.js';

/** Adds `amount` to one of the summary's counters. */
export function count(name: CountName, amount = 1): void {
  if (amount === 0) return;
  const directory = inject('reliabilityStatsDir');
  appendFileSync(join(directory, `${process.pid}.jsonl`), `${JSON.stringify({ name, amount })}\n`);
}
