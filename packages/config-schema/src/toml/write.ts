import { parse as parseToml } from 'smol-toml';
import { ConfigWriteError } from '../errors.js';
import { formatPath, type PathSegment } from '../issues.js';

/**
 * Writes config values as TOML 1.0 text that GitLab Runner (any version) reads: strings as basic strings,
 * integers never as floats, durations as the Go strings the parsed config already holds, `token_*_at` datetimes
 * as TOML offset datetimes, tables with GitLab's two-space indentation. Within a table, plain keys come before
 * sub-tables (TOML requires it); otherwise the order of keys is kept.
 */

const DATETIME_KEYS = new Set(['token_obtained_at', 'token_expires_at']);
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const BARE = /^[A-Za-z0-9_-]+$/;

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isTableArray(value: unknown): value is Table[] {
  return Array.isArray(value) && value.length > 0 && value.every(isTable);
}

export function formatKey(key: string): string {
  return BARE.test(key) ? key : quote(key);
}

function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return BigInt(value).toString();
  return String(value);
}

function formatValue(value: unknown, path: PathSegment[], key: string | undefined): string {
  if (typeof value === 'string') {
    return key !== undefined && DATETIME_KEYS.has(key) && RFC3339_UTC.test(value) ? value : quote(value);
  }
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ConfigWriteError(formatPath(path), 'invalid date');
    return value.toISOString().replace('.000Z', 'Z');
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((item, i) => {
        if (item === undefined) throw new ConfigWriteError(formatPath([...path, i]), 'undefined inside an array');
        return formatValue(item, [...path, i], undefined);
      })
      .join(', ')}]`;
  }
  if (isTable(value)) {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, item]) => `${formatKey(k)} = ${formatValue(item, [...path, k], k)}`).join(', ')} }`;
  }
  throw new ConfigWriteError(formatPath(path), `a ${value === null ? 'null' : typeof value} cannot be written as TOML`);
}

class Writer {
  readonly lines: string[] = [];
  readonly #seen = new Set<object>();

  table(value: Table, header: string[], path: PathSegment[]): void {
    if (this.#seen.has(value)) throw new ConfigWriteError(formatPath(path), 'the value contains a cycle');
    this.#seen.add(value);
    const indent = '  '.repeat(header.length);
    const nested: Array<[string, Table | Table[]]> = [];
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      if (isTable(item) || isTableArray(item)) nested.push([key, item]);
      else this.lines.push(`${indent}${formatKey(key)} = ${formatValue(item, [...path, key], key)}`);
    }
    const headerIndent = '  '.repeat(header.length);
    for (const [key, item] of nested) {
      const names = [...header, formatKey(key)];
      if (Array.isArray(item)) {
        item.forEach((element, i) => {
          this.#blank(header.length);
          this.lines.push(`${headerIndent}[[${names.join('.')}]]`);
          this.table(element, names, [...path, key, i]);
        });
      } else {
        this.#blank(header.length);
        this.lines.push(`${headerIndent}[${names.join('.')}]`);
        this.table(item, names, [...path, key]);
      }
    }
    this.#seen.delete(value);
  }

  #blank(depth: number): void {
    if (depth === 0 && this.lines.length > 0) this.lines.push('');
  }
}

/**
 * Writes a config object (typically `parseConfig(text).config`, possibly edited) as TOML text. Unknown keys are
 * written like known ones, so parse → stringify → parse keeps every value and every unknown key.
 */
export function stringify(config: Readonly<Record<string, unknown>>): string {
  const writer = new Writer();
  writer.table(config as Table, [], []);
  return `${writer.lines.join('\n')}\n`;
}

/** Text of one `[[runners]]` block, as `appendRunner` adds it. */
export function stringifyRunner(runner: Readonly<Record<string, unknown>>, newline = '\n'): string {
  const writer = new Writer();
  writer.lines.push('[[runners]]');
  writer.table(runner as Table, ['runners'], ['runners']);
  return `${writer.lines.join(newline)}${newline}`;
}

/**
 * Appends a runner to existing config.toml text, as `register` does: the existing text is kept byte for byte (a
 * missing final newline is added) and a new `[[runners]]` block goes at the end, using the file's line endings.
 * Throws `ConfigWriteError` when the result would not be valid TOML (for example when the file defines
 * `runners` as an inline array, which cannot be extended with a `[[runners]]` block).
 */
export function appendRunner(text: string, runner: Readonly<Record<string, unknown>>): string {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  let base = text;
  if (base.length > 0 && !base.endsWith('\n')) base += newline;
  const separator = base.trim().length > 0 ? newline : '';
  const result = `${base}${separator}${stringifyRunner(runner, newline)}`;
  try {
    parseToml(result.charCodeAt(0) === 0xfeff ? result.slice(1) : result);
  } catch (error) {
    throw new ConfigWriteError('runners', 'the runner cannot be appended to this file as TOML', { cause: error });
  }
  return result;
}
