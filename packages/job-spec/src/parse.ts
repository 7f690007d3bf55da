import type { z } from 'zod';
import { InvalidBodyError, InvalidJobPayloadError, type JobSpecIssue } from './errors.js';
import { type JobPayload, JobPayloadSchema } from './schemas/payload.js';

export type ParseJobPayloadResult =
  | { readonly success: true; readonly data: JobPayload }
  | {
      readonly success: false;
      readonly error: InvalidJobPayloadError;
      /**
       * The job's id and token when they could be read, so the caller can report the job as failed
       * (`runner_system_failure`) instead of dropping it (api-spec §5.6). `null` when either is unusable.
       */
      readonly job: { readonly id: number; readonly token: string } | null;
    };

/** Validates a decoded job payload (api-spec §5) and normalises `null`/missing fields to their empty values. */
export function parseJobPayload(value: unknown): ParseJobPayloadResult {
  const result = JobPayloadSchema.safeParse(value, { reportInput: true });
  if (result.success) return { success: true, data: result.data };
  const issues = toIssues(result.error.issues);
  return { success: false, error: new InvalidJobPayloadError(issues, { cause: result.error }), job: readJob(value) };
}

export type ParseBodyResult<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: InvalidBodyError };

/** Validates any request or answer body against one of this package's schemas; `name` appears in the message. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown, name: string): ParseBodyResult<z.output<S>> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { success: true, data: result.data };
  return {
    success: false,
    error: new InvalidBodyError(name, toIssues(result.error.issues), { cause: result.error }),
  };
}

function readJob(value: unknown): { id: number; token: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, token } = value as { id?: unknown; token?: unknown };
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return null;
  if (typeof token !== 'string' || token === '') return null;
  return { id, token };
}

/** `['steps', 0, 'script']` → `steps[0].script`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

type ZodIssue = z.core.$ZodIssue;

export function toIssues(issues: readonly ZodIssue[]): JobSpecIssue[] {
  return issues.map((issue) => ({
    code: issue.code,
    path: formatPath(issue.path),
    segments: issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol'),
    message: describeIssue(issue),
  }));
}

function describeIssue(issue: ZodIssue): string {
  const received = 'input' in issue ? describeValue(issue.input) : undefined;
  const got = received === undefined ? '' : `, got ${received}`;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required ${describeExpected(issue.expected)} is missing`;
      return `expected ${describeExpected(issue.expected)}${got}`;
    case 'invalid_union': {
      const expected = new Set<string>();
      for (const branch of issue.errors) {
        for (const inner of branch) {
          if (inner.path.length > 0) continue;
          if (inner.code === 'invalid_type') expected.add(describeExpected(inner.expected));
          if (inner.code === 'invalid_value') for (const v of inner.values) expected.add(JSON.stringify(v));
        }
      }
      if (expected.size === 0) return issue.message;
      return `expected ${[...expected].join(' | ')}${got}`;
    }
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}${got}`;
    case 'too_small':
      if (issue.origin === 'string' && issue.minimum === 1) return `expected a non-empty string${got}`;
      if (issue.origin === 'number' && issue.minimum === 0 && issue.inclusive === false) {
        return `expected a positive integer${got}`;
      }
      if (issue.origin === 'number') return `expected a safe integer${got}`;
      return issue.message;
    case 'too_big':
      if (issue.origin === 'number') return `expected a safe integer${got}`;
      return issue.message;
    default:
      return issue.message;
  }
}

function describeExpected(expected: string): string {
  if (expected === 'int') return 'integer';
  return expected;
}

function describeValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  // String contents are never echoed: a misplaced value may be a secret.
  return typeof value;
}
