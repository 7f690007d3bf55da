// Seeded, bounded fuzzing settings shared by the bad-input tests: the same seed gives the same cases on every run.
import type fc from 'fast-check';
import { count } from './count.js';

export const SOAK = process.env.RUNNERKIT_SOAK === '1';

/** Fixed seed (override with RUNNERKIT_FUZZ_SEED to explore, then pin what it finds as a regression case). */
export const SEED = Number(process.env.RUNNERKIT_FUZZ_SEED ?? 20_260_515);

/** fast-check parameters: fixed seed, bounded runs, a time limit per case (async properties) and in total. */
export function fuzzParameters<T>(runs: number, perCaseMs = 2_000): fc.Parameters<T> {
  return {
    seed: SEED,
    numRuns: SOAK ? runs * 20 : runs,
    timeout: perCaseMs,
    interruptAfterTimeLimit: SOAK ? 20 * 60_000 : 45_000,
    markInterruptAsFailure: false,
    endOnFailure: true,
  };
}

/**
 * Runs one synchronous case and fails it when it took longer than `limitMs` (a synchronous loop cannot be
 * interrupted, but a case this slow is a hang waiting for a bigger input). Counts the case for the summary.
 */
export function withinTime<T>(limitMs: number, what: string, body: () => T): T {
  const started = performance.now();
  const result = body();
  const elapsed = performance.now() - started;
  if (elapsed > limitMs) throw new Error(`${what} took ${Math.round(elapsed)} ms (limit ${limitMs} ms)`);
  return result;
}

/** Counts fuzz cases as they run (one call per case). */
export function fuzzCase(): void {
  caseCount += 1;
}
let caseCount = 0;

/** Writes the cases counted so far to the summary (call in afterAll). */
export function flushFuzzCases(): void {
  count('fuzzCases', caseCount);
  caseCount = 0;
}
