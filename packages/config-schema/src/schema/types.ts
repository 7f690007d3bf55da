import { z } from 'zod';
import { parseRfc3339, formatUtc } from '../values/datetime.js';
import { formatGoDuration, parseGoDuration } from '../values/duration.js';
import type { IssueCode } from '../issues.js';

/**
 * The building blocks every section schema is made of. Each block is a zod schema over the raw smol-toml value
 * (integers as bigint, datetimes as Date) whose output is the normalised form of config-toml.md §3.1. A side
 * table records what kind of node each schema is, so the key pass (`canonicalize.ts`) can match keys
 * case-insensitively, keep unknown keys and warn about legacy ones without a second description of the file.
 */

export type NodeInfo =
  | { kind: 'table'; shape: Record<string, z.ZodType>; legacy: Record<string, LegacyKey> }
  | { kind: 'tables'; element: z.ZodType }
  | { kind: 'map'; value: z.ZodType }
  | { kind: 'duration' }
  | { kind: 'any' };

export interface LegacyKey {
  status: 'removed' | 'deprecated';
  note: string;
}

const nodes = new WeakMap<z.ZodType, NodeInfo>();

export function nodeInfo(schema: z.ZodType): NodeInfo | undefined {
  return nodes.get(schema);
}

function register<T extends z.ZodType>(schema: T, info: NodeInfo): T {
  nodes.set(schema, info);
  return schema;
}

/** The TOML type name of a raw value, for "found …" in messages. */
export function tomlTypeName(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof Date) return 'datetime';
  if (Array.isArray(value)) {
    return value.length > 0 && value.every((item) => isTable(item)) ? 'array of tables' : 'array';
  }
  if (isTable(value)) return 'table';
  return typeof value;
}

export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** `string "10"`, `integer 4`, `table` … */
export function describeFound(value: unknown): string {
  const type = tomlTypeName(value);
  if (typeof value === 'string')
    return `${type} ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return `${type} ${value}`;
  return type;
}

function mismatch(expected: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined ? `expected ${expected}` : `expected ${expected}, found ${describeFound(issue.input)}`,
  };
}

/** Adds an issue with one of our codes from inside a refinement or transform. */
export function report(
  context: { addIssue: (issue: z.core.$ZodRawIssue) => void },
  code: IssueCode,
  message: string,
  input: unknown,
): void {
  context.addIssue({ code: 'custom', message, params: { code }, input });
}

export const str = () => z.string(mismatch('string'));
export const bool = () => z.boolean(mismatch('boolean'));

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** TOML integer (a float, even `4.0`, is a type error); values beyond ±2^53 are rejected rather than rounded. */
export const int = () =>
  z
    .bigint(mismatch('integer'))
    .transform((value, context) => {
      if (value > SAFE || value < -SAFE) {
        report(context, 'out_of_range', `integer ${value} is outside the supported range ±2^53`, value);
        return z.NEVER;
      }
      return Number(value);
    })
    .meta({ type: 'integer' });

/** TOML float; an integer is accepted as GitLab does (`IdleScaleFactor = 1`). */
export const float = () =>
  z
    .union([z.number(), z.bigint()], mismatch('float'))
    .transform((value) => Number(value))
    .meta({ type: 'number' });

export const DURATION_PATTERN = '^[-+]?((\\d+\\.?\\d*|\\.\\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$';

/** A Go duration string, or a bare integer of nanoseconds; normalised to Go's `Duration.String()` form. */
export const duration = () =>
  register(
    z
      .union([z.string(), z.bigint()], mismatch('duration (a string such as "1h30m")'))
      .transform((value, context) => {
        const nanoseconds = typeof value === 'bigint' ? value : parseGoDuration(value);
        if (nanoseconds === undefined) {
          report(
            context,
            'invalid_duration',
            `invalid duration ${JSON.stringify(value)}: expected Go duration syntax such as "90s", "1h30m" or "1.5h" (units ns, us, ms, s, m, h; no spaces)`,
            value,
          );
          return z.NEVER;
        }
        return formatGoDuration(nanoseconds);
      })
      .meta({
        anyOf: [{ type: 'string', pattern: DURATION_PATTERN }, { type: 'integer' }],
        description: 'Go duration ("1h30m", "90s") or integer nanoseconds',
      }),
    { kind: 'duration' },
  );

/** A TOML datetime or an RFC 3339 string; normalised to UTC `2024-05-02T08:15:00Z`. */
export const datetime = () =>
  z
    .union([z.date(), z.string()], mismatch('datetime'))
    .transform((value, context) => {
      const date = typeof value === 'string' ? parseRfc3339(value) : value;
      const text = date === undefined ? undefined : formatUtc(date);
      if (text === undefined) {
        report(context, 'invalid_format', `expected an RFC 3339 datetime, found ${JSON.stringify(value)}`, value);
        return z.NEVER;
      }
      return text;
    })
    .meta({ anyOf: [{ type: 'string', format: 'date-time' }] });

export const list = <T extends z.ZodType>(element: T, name: string) => z.array(element, mismatch(`array of ${name}`));
export const strings = () => list(str(), 'strings');
export const floats = () => list(float(), 'floats');
export const ints = () => list(int(), 'integers');

/** A map table: keys are data, used exactly as written. */
export const map = <T extends z.ZodType>(value: T) =>
  register(z.record(z.string(), value, mismatch('table')), { kind: 'map', value });

/** Any TOML value, kept as is (plugin_config values). */
export const anyValue = () => register(z.unknown(), { kind: 'any' });
export const anyMap = () => map(anyValue());

/** A string restricted to a set of values. */
export function oneOf<const V extends readonly string[]>(values: V): z.ZodType<V[number], string>;
export function oneOf(values: readonly string[], options: { caseInsensitive: true }): z.ZodType<string, string>;
export function oneOf(
  values: readonly string[],
  options: { caseInsensitive?: boolean } = {},
): z.ZodType<string, string> {
  const allowed = options.caseInsensitive ? values.map((value) => value.toLowerCase()) : values;
  return str()
    .superRefine((value, context) => {
      const probe = options.caseInsensitive ? value.toLowerCase() : value;
      if (!allowed.includes(probe)) {
        report(
          context,
          'invalid_enum',
          `expected one of ${values.map((v) => JSON.stringify(v)).join(' | ')}, found ${JSON.stringify(value)}`,
          value,
        );
      }
    })
    .meta(options.caseInsensitive ? {} : { enum: [...values] });
}

/** A string that must pass `check`; otherwise `invalid_format` naming `what`. */
export const formatted = (check: (value: string) => boolean, what: string) =>
  str().superRefine((value, context) => {
    if (!check(value)) report(context, 'invalid_format', `invalid ${what} ${JSON.stringify(value)}`, value);
  });

export type Shape = Record<string, z.ZodType>;

type OptionalShape<S extends Shape> = { [K in keyof S]: z.ZodOptional<S[K]> };

function optionalShape<S extends Shape>(shape: S): OptionalShape<S> {
  const out: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(shape)) out[key] = schema.optional();
  return out as OptionalShape<S>;
}

/** A table with a fixed set of keys; every key optional, unknown keys kept (they are reported as warnings). */
export const table = <S extends Shape>(shape: S, legacy: Record<string, LegacyKey> = {}) =>
  register(z.looseObject(optionalShape(shape), mismatch('table')), { kind: 'table', shape, legacy });

/** An array of tables (`[[x]]` or an array of inline tables); a single table is a type error. */
export const tables = <S extends Shape>(shape: S, legacy: Record<string, LegacyKey> = {}) => {
  const element = table(shape, legacy);
  return register(z.array(element, mismatch('array of tables')), { kind: 'tables', element });
};

type Spec =
  | 'string'
  | 'bool'
  | 'int'
  | 'float'
  | 'duration'
  | 'string[]'
  | 'int[]'
  | 'float[]'
  | 'map<string,string>'
  | 'map<string,int>'
  | 'map<string,any>';

const BUILDERS: Record<Spec, () => z.ZodType> = {
  string: str,
  bool,
  int,
  float,
  duration,
  'string[]': strings,
  'int[]': ints,
  'float[]': floats,
  'map<string,string>': () => map(str()),
  'map<string,int>': () => map(int()),
  'map<string,any>': anyMap,
};

/** A compact way to write a table whose keys are plain types (used for the pass-through sections). */
export function fields(spec: Record<string, Spec | z.ZodType>): Shape {
  const shape: Shape = {};
  for (const [key, type] of Object.entries(spec)) shape[key] = typeof type === 'string' ? BUILDERS[type]() : type;
  return shape;
}
