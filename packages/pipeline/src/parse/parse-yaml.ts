import {
  type CollectionTag,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  Scalar,
} from 'yaml';
import type { PipelineIssue } from '../errors.js';

/** A `!reference [.job, key, …]` tag, kept as a value until references are resolved. */
export class YamlReference {
  constructor(
    readonly path: readonly string[],
    readonly file: string,
    readonly line: number | undefined,
  ) {}
}

export interface Position {
  line: number;
  column: number;
}

export interface ParsedFile {
  file: string;
  /** Plain JS value of the document; `!reference` tags appear as {@link YamlReference}. */
  value: unknown;
  /** Position of the key at `path` (or of the value for sequence indexes), following aliases and merge keys. */
  locate(path: readonly (string | number)[]): Position | undefined;
}

function referenceTag(file: string, lineCounter: LineCounter): CollectionTag {
  return {
    tag: '!reference',
    collection: 'seq',
    default: false,
    identify: () => false,
    // The sequence becomes a scalar holding a YamlReference, so toJS hands it over untouched.
    resolve(value) {
      const items = (value.items as unknown[]).map((item) => (isScalar(item) ? String(item.value) : String(item)));
      const line = value.range ? lineCounter.linePos(value.range[0]).line : undefined;
      const scalar = new Scalar(new YamlReference(items, file, line));
      scalar.range = value.range;
      return scalar;
    },
  };
}

export type ParseResult = { ok: true; parsed: ParsedFile } | { ok: false; issues: PipelineIssue[] };

/** Parses one CI file: YAML 1.1 merge keys, anchors and aliases, `!reference` tags. */
export function parseCiYaml(source: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    merge: true,
    customTags: [referenceTag(file, lineCounter)],
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          code: 'PIPELINE_YAML_SYNTAX',
          file,
          line: position.line,
          column: position.col,
          path: keyPathAt(doc.contents, error.pos[0]),
          message: `invalid YAML: ${firstLine(error.message)}`,
        };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 10_000 });
  } catch (error) {
    return {
      ok: false,
      issues: [{ code: 'PIPELINE_YAML_SYNTAX', file, path: '', message: `invalid YAML: ${String(error)}` }],
    };
  }
  const cycle = findCycle(value, new Set(), new Set(), []);
  if (cycle !== undefined) {
    return {
      ok: false,
      issues: [
        {
          code: 'PIPELINE_YAML_SYNTAX',
          file,
          path: cycle.join(':'),
          message: 'invalid YAML: an alias refers to an anchor that contains it (recursive anchor)',
        },
      ],
    };
  }
  const locate = (path: readonly (string | number)[]): Position | undefined => {
    let node: unknown = doc.contents;
    let found: Position | undefined;
    for (const segment of path) {
      node = resolveAlias(node, doc);
      const next = childOf(node, segment, doc);
      if (!next) return found;
      const offset = next.keyOffset;
      if (offset !== undefined) {
        const p = lineCounter.linePos(offset);
        found = { line: p.line, column: p.col };
      }
      node = next.value;
    }
    return found;
  };
  return { ok: true, parsed: { file, value, locate } };
}

/** The path of the first value that contains itself (`a: &a {b: *a}`); aliases share objects, so visit each once. */
function findCycle(
  value: unknown,
  ancestors: Set<object>,
  done: Set<object>,
  path: (string | number)[],
): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null || done.has(value)) return undefined;
  if (ancestors.has(value)) return path;
  ancestors.add(value);
  for (const [key, item] of Object.entries(value)) {
    const found = findCycle(item, ancestors, done, [...path, key]);
    if (found !== undefined) return found;
  }
  ancestors.delete(value);
  done.add(value);
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

type Doc = ReturnType<typeof parseDocument>;

function resolveAlias(node: unknown, doc: Doc): unknown {
  let current = node;
  for (let i = 0; i < 20 && isAlias(current); i++) current = current.resolve(doc);
  return current;
}

function childOf(
  node: unknown,
  segment: string | number,
  doc: Doc,
): { keyOffset: number | undefined; value: unknown } | undefined {
  if (isMap(node)) {
    const merges: unknown[] = [];
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isScalar(item.key) ? item.key.value : item.key;
      if (key === '<<') {
        merges.push(item.value);
        continue;
      }
      if (String(key) === String(segment)) {
        const keyNode = item.key as Node | null;
        return { keyOffset: keyNode?.range?.[0], value: item.value };
      }
    }
    for (const merge of merges) {
      const resolved = resolveAlias(merge, doc);
      const sources = isSeq(resolved) ? resolved.items.map((i) => resolveAlias(i, doc)) : [resolved];
      for (const source of sources) {
        const hit = childOf(source, segment, doc);
        if (hit) return hit;
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    if (!item) return undefined;
    return { keyOffset: item.range?.[0], value: item };
  }
  return undefined;
}

/** The key path (`job:script`) of the innermost map entry containing `offset`, for syntax errors. */
function keyPathAt(root: unknown, offset: number): string {
  const path: string[] = [];
  let node: unknown = root;
  for (let depth = 0; depth < 50; depth++) {
    if (isMap(node)) {
      let next: unknown;
      for (const item of node.items) {
        if (!isPair(item)) continue;
        if (((item.key as Node | null)?.range?.[0] ?? 0) >= offset) continue;
        const keyNode = item.key as Node | null;
        const valueNode = item.value as Node | null;
        const start = keyNode?.range?.[0] ?? valueNode?.range?.[0];
        const end = valueNode?.range?.[2] ?? keyNode?.range?.[2];
        if (start !== undefined && end !== undefined && offset >= start && offset <= end) {
          path.push(String(isScalar(keyNode) ? keyNode.value : keyNode));
          next = valueNode;
        }
      }
      if (next === undefined) break;
      node = next;
    } else if (isSeq(node)) {
      let next: unknown;
      for (const item of node.items) {
        const range = (item as Node | null)?.range;
        if (range && offset >= range[0] && offset <= range[2]) next = item;
      }
      if (next === undefined) break;
      node = next;
    } else break;
  }
  return path.join(':');
}
