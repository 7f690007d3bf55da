const UNITS: [RegExp, number][] = [
  [/^(s|sec|secs|second|seconds)$/, 1],
  [/^(m|min|mins|minute|minutes)$/, 60],
  [/^(h|hr|hrs|hour|hours)$/, 3600],
  [/^(d|day|days)$/, 86_400],
  [/^(w|wk|wks|week|weeks)$/, 604_800],
  [/^(mo|mos|month|months)$/, 2_592_000],
  [/^(y|yr|yrs|year|years)$/, 31_557_600],
];

/**
 * Parses a GitLab duration (`1h 30m`, `3 hours 30 minutes`, `90 seconds`, `2d`, `3600`) into seconds.
 * A bare number is seconds, as ChronicDuration reads it. Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const input = text
    .trim()
    .toLowerCase()
    .replace(/,/g, ' ')
    .replace(/\band\b/g, ' ');
  if (input === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(input)) return Math.round(Number(input));
  const clock = /^(\d+):(\d{1,2})(?::(\d{1,2}))?$/.exec(input);
  if (clock) {
    const [, a, b, c] = clock;
    return c === undefined ? Number(a) * 60 + Number(b) : Number(a) * 3600 + Number(b) * 60 + Number(c);
  }
  const pattern = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;
  let total = 0;
  let consumed = '';
  for (const match of input.matchAll(pattern)) {
    const unit = UNITS.find(([re]) => re.test(match[2] ?? ''));
    if (!unit) return undefined;
    total += Number(match[1]) * unit[1];
    consumed += match[0];
  }
  if (consumed.replace(/\s+/g, '') !== input.replace(/\s+/g, '')) return undefined;
  return Math.round(total);
}
