// Structure-blind and structure-aware mutations for text and JSON inputs.
import fc from 'fast-check';

export type TextMutation =
  | { kind: 'delete-line' | 'duplicate-line' | 'truncate' | 'swap-lines'; at: number }
  | { kind: 'insert' | 'replace-value' | 'replace-char'; at: number; text: string };

/** Literals that stress scalars: wrong types, huge numbers, odd strings, nesting. */
export const scalarText = fc.oneof(
  fc.constantFrom(
    'true',
    'false',
    '0',
    '-1',
    '1e309',
    '-0.0',
    '9223372036854775808',
    'nan',
    'inf',
    '"1h"',
    '"-5s"',
    '"9999999999h"',
    '""',
    '"\\u0000"',
    '[]',
    '{}',
    '[1, "a"]',
    'null',
    '~',
    '"$HOME"',
    '"${CI_JOB_TOKEN}"',
    '"../../etc/passwd"',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true }).map(String),
  fc.string({ maxLength: 20 }).map((text) => JSON.stringify(text)),
);

export function textMutation(snippets: readonly string[]): fc.Arbitrary<TextMutation> {
  const anyText = fc.oneof(
    fc.constantFrom(...snippets),
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
  );
  return fc.oneof(
    fc.record({ kind: fc.constantFrom('delete-line', 'duplicate-line', 'truncate', 'swap-lines'), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert'), at: fc.nat(), text: anyText }),
    fc.record({ kind: fc.constant('replace-value'), at: fc.nat(), text: scalarText }),
    fc.record({ kind: fc.constant('replace-char'), at: fc.nat(), text: anyText }),
  ) as fc.Arbitrary<TextMutation>;
}

/** Applies mutations to a text; `separator` is where values start (`=` in TOML, `:` in YAML). */
export function mutateText(text: string, mutations: readonly TextMutation[], separator: string): string {
  let current = text;
  for (const mutation of mutations) {
    const lines = current.split('\n');
    const line = mutation.at % Math.max(lines.length, 1);
    switch (mutation.kind) {
      case 'delete-line':
        lines.splice(line, 1);
        current = lines.join('\n');
        break;
      case 'duplicate-line':
        lines.splice(line, 0, lines[line] ?? '');
        current = lines.join('\n');
        break;
      case 'swap-lines': {
        const other = (line * 7 + 3) % Math.max(lines.length, 1);
        const a = lines[line] ?? '';
        lines[line] = lines[other] ?? '';
        lines[other] = a;
        current = lines.join('\n');
        break;
      }
      case 'truncate':
        current = current.slice(0, mutation.at % (current.length + 1));
        break;
      case 'insert': {
        const at = mutation.at % (current.length + 1);
        current = current.slice(0, at) + mutation.text + current.slice(at);
        break;
      }
      case 'replace-char': {
        const at = mutation.at % (current.length + 1);
        current = current.slice(0, at) + mutation.text + current.slice(at + 1);
        break;
      }
      case 'replace-value': {
        const target = lines[line] ?? '';
        const index = target.indexOf(separator);
        if (index >= 0) lines[line] = `${target.slice(0, index + 1)} ${mutation.text}`;
        current = lines.join('\n');
        break;
      }
    }
  }
  return current;
}

export type JsonMutation =
  | { kind: 'delete' | 'wrap-array' | 'stringify' | 'null'; path: number[] }
  | { kind: 'replace' | 'add-key'; path: number[]; value: unknown; key: string };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('delete', 'wrap-array', 'stringify', 'null'),
    path: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({
    kind: fc.constantFrom('replace', 'add-key'),
    path: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-1, 0, 2 ** 53, 1.5, '', 'x'.repeat(5000), [], {}, true),
    ),
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'id', 'token')),
  }),
) as fc.Arbitrary<JsonMutation>;

/** Follows `path` (indices into the keys of each object/array) and mutates the node reached. */
export function mutateJson(value: unknown, mutation: JsonMutation): unknown {
  const root = structuredClone(value) as unknown;
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  let node: unknown = root;
  for (const step of mutation.path) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Array.isArray(node) ? node.map((_, index) => index) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown> | unknown[];
    key = keys[step % keys.length] as string | number;
    node = (parent as Record<string | number, unknown>)[key];
  }
  if (parent === undefined || key === undefined) return mutation.kind === 'replace' ? mutation.value : root;
  const target = parent as Record<string | number, unknown>;
  switch (mutation.kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete target[key];
      break;
    case 'wrap-array':
      target[key] = [node];
      break;
    case 'stringify':
      target[key] = JSON.stringify(node) ?? 'undefined';
      break;
    case 'null':
      target[key] = null;
      break;
    case 'replace':
      target[key] = mutation.value;
      break;
    case 'add-key':
      if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
        Object.defineProperty(node, mutation.key, { value: mutation.value, enumerable: true, writable: true });
      } else {
        target[key] = mutation.value;
      }
      break;
  }
  return root;
}
