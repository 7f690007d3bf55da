import type { z } from 'zod';
import { formatUtc } from './values/datetime.js';
import { formatPath, type ConfigIssue, type PathSegment } from './issues.js';
import { isTable, nodeInfo, type NodeInfo } from './schema/types.js';

/**
 * The key pass, run on smol-toml's raw tree before zod: matches known keys exactly, then case-insensitively
 * (warning `key_case_mismatch`), reports two spellings of one key (`duplicate_key`), keeps unknown keys as plain
 * values (warning `unknown_key`, with a suggestion), flags legacy keys, and warns about integer durations.
 * Returns a tree whose known keys carry their canonical spelling, ready for the zod schemas.
 */

type TableInfo = Extract<NodeInfo, { kind: 'table' }>;
/** `spelling`: the key as written, when it differs from the path's canonical last segment (for the line). */
type Issue = Omit<ConfigIssue, 'line' | 'column'> & { segments: PathSegment[]; spelling?: string };

const lowerIndexes = new WeakMap<TableInfo, Map<string, string>>();

function lowerIndex(info: TableInfo): Map<string, string> {
  let index = lowerIndexes.get(info);
  if (!index) {
    index = new Map(Object.keys(info.shape).map((key) => [key.toLowerCase(), key]));
    lowerIndexes.set(info, index);
  }
  return index;
}

/** Integers → numbers, datetimes → RFC 3339 UTC strings, recursively (how unknown keys appear in `config`). */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return formatUtc(value) ?? String(value);
  if (Array.isArray(value)) return value.map(plainValue);
  if (isTable(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) setOwn(out, key, plainValue(item));
    return out;
  }
  return value;
}

/** Assigns without ever touching a prototype, whatever the key (`__proto__` is a legal TOML key). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function distance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] ?? 0;
      previous[j] = Math.min(above + 1, (previous[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length] ?? 0;
}

function suggestion(key: string, info: TableInfo): string | undefined {
  const probe = key.toLowerCase().replaceAll('-', '_');
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of Object.keys(info.shape)) {
    const d = distance(probe, known.toLowerCase().replaceAll('-', '_'));
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

export function canonicalize(
  raw: Record<string, unknown>,
  schema: z.ZodType,
): { tree: Record<string, unknown>; issues: Issue[] } {
  const issues: Issue[] = [];
  const tree = walk(raw, schema, [], issues);
  return { tree: isTable(tree) ? tree : {}, issues };
}

function walk(value: unknown, schema: z.ZodType, path: PathSegment[], issues: Issue[]): unknown {
  const info = nodeInfo(schema);
  if (!info) return value;
  switch (info.kind) {
    case 'table':
      return isTable(value) ? walkTable(value, info, path, issues) : value;
    case 'tables':
      return Array.isArray(value) ? value.map((item, i) => walk(item, info.element, [...path, i], issues)) : value;
    case 'map': {
      if (!isTable(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) setOwn(out, key, walk(item, info.value, [...path, key], issues));
      return out;
    }
    case 'duration':
      if (typeof value === 'bigint' && value !== 0n) {
        issues.push({
          severity: 'warning',
          code: 'duration_as_integer',
          segments: path,
          path: formatPath(path),
          message: `${value} is read as ${value} nanoseconds; write a duration string such as "${value}s" if seconds were meant`,
        });
      }
      return value;
    case 'any':
      return plainValue(value);
  }
}

function walkTable(raw: Record<string, unknown>, info: TableInfo, path: PathSegment[], issues: Issue[]) {
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  const index = lowerIndex(info);
  const push = (issue: Omit<Issue, 'path'>) => issues.push({ ...issue, path: formatPath(issue.segments) });
  for (const [key, value] of Object.entries(raw)) {
    const canonical = Object.hasOwn(info.shape, key) ? key : index.get(key.toLowerCase());
    if (canonical === undefined) {
      const legacy = Object.hasOwn(info.legacy, key) ? info.legacy[key] : undefined;
      const segments = [...path, key];
      if (legacy) {
        push({
          severity: 'warning',
          code: legacy.status === 'removed' ? 'removed_key' : 'deprecated_key',
          segments,
          message: `${key} is ${legacy.status === 'removed' ? 'no longer read' : 'deprecated'}: ${legacy.note}`,
        });
      } else {
        const close = suggestion(key, info);
        push({
          severity: 'warning',
          code: 'unknown_key',
          segments,
          message: `unknown key ${JSON.stringify(key)} (kept, but GitLab Runner ignores it)${close ? `; did you mean ${JSON.stringify(close)}?` : ''}`,
        });
      }
      setOwn(out, key, plainValue(value));
      continue;
    }
    const segments = [...path, canonical];
    const earlier = seen.get(canonical);
    if (earlier !== undefined) {
      push({
        severity: 'error',
        code: 'duplicate_key',
        segments,
        spelling: key,
        message: `${JSON.stringify(earlier)} and ${JSON.stringify(key)} are the same key written twice (keys match case-insensitively); GitLab Runner would pick one at random — keep only one`,
      });
      continue;
    }
    seen.set(canonical, key);
    if (canonical !== key) {
      push({
        severity: 'warning',
        code: 'key_case_mismatch',
        segments,
        message: `${JSON.stringify(key)} matches the known key ${JSON.stringify(canonical)} only case-insensitively; write ${JSON.stringify(canonical)}`,
      });
    }
    const legacy = Object.hasOwn(info.legacy, canonical) ? info.legacy[canonical] : undefined;
    if (legacy?.status === 'deprecated') {
      push({
        severity: 'warning',
        code: 'deprecated_key',
        segments,
        message: `${canonical} is deprecated: ${legacy.note}`,
      });
    }
    const schema = info.shape[canonical];
    setOwn(out, canonical, schema ? walk(value, schema, segments, issues) : value);
  }
  return out;
}
