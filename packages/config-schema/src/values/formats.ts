/** Validators for the formatted strings GitLab Runner checks at load or job time (config-toml.md §2.4). */

const SIZE = /^(\d+(\.\d*)?|\.\d+) ?([bkmgtp](i?b)?)?$/i;
/** Docker memory sizes: `128m`, `1.5g`, `512MiB`, `100`. */
export function isMemorySize(value: string): boolean {
  return SIZE.test(value);
}

const CPUS = /^(\d+(\.\d*)?|\.\d+)(\/(\d+(\.\d*)?|\.\d+))?$/;
/** CPU counts: a decimal number or a fraction `a/b`. */
export function isCpuCount(value: string): boolean {
  return CPUS.test(value);
}

const INT64 = /^[+-]?\d+$/;
const INT64_LIMIT = 1n << 63n;
function isInt64(value: string): boolean {
  if (!INT64.test(value)) return false;
  const n = BigInt(value);
  return n >= -INT64_LIMIT && n < INT64_LIMIT;
}
/** ulimit values: `"soft"` or `"soft:hard"`, each a signed 64-bit integer. */
export function isUlimitValue(value: string): boolean {
  const parts = value.split(':');
  return parts.length <= 2 && parts.every(isInt64);
}

export const LABEL_KEY = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{2,64}$/;
export const LABEL_VALUE = /^[a-zA-Z0-9._-]{1,256}$/;

/** IANA time zone names, `UTC`, `Local` and "" (the host's zone), as Go's `time.LoadLocation` takes them. */
export function isTimeZone(value: string): boolean {
  if (value === '' || value === 'Local' || value === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
interface FieldRule {
  min: number;
  max: number;
  names?: string[];
  nameBase?: number;
}
const SECOND: FieldRule = { min: 0, max: 59 };
const MINUTE: FieldRule = { min: 0, max: 59 };
const HOUR: FieldRule = { min: 0, max: 23 };
const DOM: FieldRule = { min: 1, max: 31 };
const MONTH: FieldRule = { min: 1, max: 12, names: MONTHS, nameBase: 1 };
const DOW: FieldRule = { min: 0, max: 7, names: DAYS, nameBase: 0 };
const YEAR: FieldRule = { min: 1970, max: 2099 };

function atom(text: string, rule: FieldRule): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= rule.min && n <= rule.max ? n : undefined;
  }
  const lower = text.toLowerCase();
  const names = rule.names ?? [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] ?? '';
    // cronexpr accepts three-letter abbreviations and full names starting with them.
    if (lower === name || (lower.length > 3 && lower.startsWith(name) && /^[a-z]+$/.test(lower))) {
      return i + (rule.nameBase ?? 0);
    }
  }
  return undefined;
}

function fieldOk(field: string, rule: FieldRule, allowQuestion: boolean): boolean {
  for (const item of field.split(',')) {
    const [range, step, ...extra] = item.split('/');
    if (extra.length > 0 || range === undefined || range === '') return false;
    if (step !== undefined && !/^\d+$/.test(step)) return false;
    if (range === '*' || (allowQuestion && range === '?')) continue;
    const [from, to, ...more] = range.split('-');
    if (more.length > 0 || from === undefined) return false;
    const low = atom(from, rule);
    if (low === undefined) return false;
    if (to !== undefined) {
      const high = atom(to, rule);
      if (high === undefined || high < low) return false;
    }
  }
  return true;
}

/** A gorhill/cronexpr expression of 5, 6 or 7 fields (docker+machine `Periods`, monitoring `periods`). */
export function isCronExpression(value: string): boolean {
  const fields = value.trim().split(/\s+/);
  let rules: FieldRule[];
  if (fields.length === 5) rules = [MINUTE, HOUR, DOM, MONTH, DOW];
  else if (fields.length === 6) rules = [MINUTE, HOUR, DOM, MONTH, DOW, YEAR];
  else if (fields.length === 7) rules = [SECOND, MINUTE, HOUR, DOM, MONTH, DOW, YEAR];
  else return false;
  return fields.every((field, i) => {
    const rule = rules[i];
    return rule !== undefined && fieldOk(field, rule, rule === DOM || rule === DOW);
  });
}

/** Whether a regular expression compiles (GitLab uses Go's RE2; JavaScript's syntax is close enough to catch typos). */
export function isRegex(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}
