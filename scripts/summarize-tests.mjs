#!/usr/bin/env node
// Adds up vitest's per-package "Tests  N passed | M failed | K skipped" lines from a turbo log into one closing line.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const totals = { passed: 0, failed: 0, skipped: 0, files: 0 };
for (const line of text.split('\n')) {
  const match = line.match(/^\S*\s*Tests\s+(.*)\(\d+\)\s*$/);
  if (!match) continue;
  totals.files++;
  for (const [, count, word] of match[1].matchAll(/(\d+)\s+(passed|failed|skipped|todo)/g)) {
    if (word === 'todo') totals.skipped += Number(count);
    else totals[word] += Number(count);
  }
}
process.stdout.write(`\n${totals.files} packages tested\n`);
process.stdout.write(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);
