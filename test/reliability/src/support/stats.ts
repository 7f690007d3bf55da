// The suite's closing summary: counters appended by count.ts, added up by the global setup's teardown.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SuiteCounts {
  faultsInjected: number;
  jobsRun: number;
  traceBytesChecked: number;
  leftoversFound: number;
  fuzzCases: number;
}

export type CountName = keyof SuiteCounts;

const EMPTY: SuiteCounts = { faultsInjected: 0, jobsRun: 0, traceBytesChecked: 0, leftoversFound: 0, fuzzCases: 0 };

export async function readCounts(directory: string): Promise<SuiteCounts> {
  const counts = { ...EMPTY };
  for (const file of await readdir(directory)) {
    for (const line of (await readFile(join(directory, file), 'utf8')).split('\n')) {
      if (line === '') continue;
      const { name, amount } = JSON.parse(line) as { name: CountName; amount: number };
      counts[name] += amount;
    }
  }
  return counts;
}

export function formatSummary(counts: SuiteCounts): string {
  const rows: [string, number][] = [
    ['faults injected', counts.faultsInjected],
    ['jobs run', counts.jobsRun],
    ['trace bytes checked', counts.traceBytesChecked],
    ['leftovers found (must be 0)', counts.leftoversFound],
    ['fuzz cases run', counts.fuzzCases],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['reliability suite summary', ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join(
    '\n',
  );
}
