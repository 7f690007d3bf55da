/**
 * Go's `time.ParseDuration` grammar and `Duration.String()` format, on bigint nanoseconds so no
 * precision is lost anywhere in int64's range.
 */

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const INT64_MAX = (1n << 63n) - 1n;
const GROUP = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/** Parses a Go duration string to nanoseconds, or returns `undefined` when Go would reject it. */
export function parseGoDuration(text: string): bigint | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest.length > 0) {
    const match = GROUP.exec(rest);
    if (!match) return undefined;
    const whole = match[1] ?? '';
    const fraction = match[2] ?? '';
    const unitName = match[3] ?? '';
    if (whole === '' && fraction === '') return undefined;
    const unit = UNITS[unitName];
    if (unit === undefined) return undefined;
    let value = BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== '') value += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    total += value;
    if (total > INT64_MAX + (negative ? 1n : 0n)) return undefined;
    rest = rest.slice(match[0].length);
  }
  return negative ? -total : total;
}

function fraction(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = value / scale;
  const rest = value % scale;
  if (rest === 0n) return whole.toString();
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/** Formats nanoseconds exactly as Go's `time.Duration.String()` does (`1h30m0s`, `1.5s`, `900ns`, `3.6µs`). */
export function formatGoDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return '0s';
  const sign = nanoseconds < 0n ? '-' : '';
  const abs = nanoseconds < 0n ? -nanoseconds : nanoseconds;
  if (abs < 1_000n) return `${sign}${abs}ns`;
  if (abs < 1_000_000n) return `${sign}${fraction(abs, 3)}µs`;
  if (abs < 1_000_000_000n) return `${sign}${fraction(abs, 6)}ms`;
  const hours = abs / UNITS.h!;
  const minutes = (abs % UNITS.h!) / UNITS.m!;
  const seconds = fraction(abs % UNITS.m!, 9);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** Nanoseconds of a normalised duration string (as found in a parsed config), or 0 when absent. */
export function durationToMilliseconds(text: string | undefined): number {
  if (text === undefined) return 0;
  const ns = parseGoDuration(text);
  return ns === undefined ? 0 : Number(ns / 1_000_000n);
}
