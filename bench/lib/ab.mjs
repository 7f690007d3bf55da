// A/B measurement for benchmarks: candidate and baseline alternate round by round in one process, so both see
// the same machine state; the result is the median of per-round ratios with its interquartile spread.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
export const quick = process.argv.includes('--quick');
// `pnpm bench` gives each run its own file, so suites run alone meanwhile (the tree is shared) do not mix in.
const RUN_FILE = process.env.RUNNERKIT_BENCH_RUN_FILE || join(RESULTS_DIR, 'run.jsonl');

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p25: quantile(sorted, 0.25), p75: quantile(sorted, 0.75), n: sorted.length };
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Runs candidate and baseline alternately (A B, B A, A B, …) for `rounds` rounds after `warmup` untimed rounds.
 * Returns and records { name, candidate, baseline, ratio: {median,p25,p75}, goal, met }.
 * ratio = candidate time / baseline time (below 1 means the candidate is faster).
 */
export async function compare({ name, candidate, baseline, rounds = quick ? 3 : 11, warmup = 1, goal, unit = 'ms' }) {
  for (let i = 0; i < warmup; i++) {
    await candidate.run();
    await baseline.run();
  }
  const a = [];
  const b = [];
  const ratios = [];
  for (let i = 0; i < rounds; i++) {
    let ta;
    let tb;
    if (i % 2 === 0) {
      ta = await timed(candidate.run);
      tb = await timed(baseline.run);
    } else {
      tb = await timed(baseline.run);
      ta = await timed(candidate.run);
    }
    a.push(ta);
    b.push(tb);
    ratios.push(ta / tb);
  }
  const result = {
    name,
    candidate: { name: candidate.name, ...summarize(a) },
    baseline: { name: baseline.name, ...summarize(b) },
    ratio: summarize(ratios),
    unit,
    goal: goal ?? null,
    met: goal === undefined ? null : summarize(ratios).median <= goal,
    quick,
  };
  record(result);
  return result;
}

/** Records a measurement that is not an A/B time ratio (throughput, peak memory, …). */
export function record(result) {
  mkdirSync(dirname(RUN_FILE), { recursive: true });
  appendFileSync(RUN_FILE, `${JSON.stringify({ ...result, at: new Date().toISOString() })}\n`);
  const ratio = result.ratio
    ? ` ratio ${result.ratio.median.toFixed(2)}× [${result.ratio.p25.toFixed(2)}–${result.ratio.p75.toFixed(2)}]`
    : '';
  const goal = result.goal != null ? ` goal ≤ ${result.goal}× ${result.met ? 'met' : 'MISSED'}` : '';
  process.stdout.write(`${result.name}:${ratio}${goal} ${result.note ?? ''}\n`);
}
