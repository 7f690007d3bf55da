import { JobPayloadError, type JobPayloadIssue } from './errors.js';

/** The parsed job (typed through @runnerkit/job-spec once it lands; until then id/token/features only). */
export interface JobPayload {
  id: number;
  token: string;
  features: { failure_reasons: string[] };
  /** CI_DEBUG_TRACE=true among the variables. */
  debugTrace: boolean;
  [key: string]: unknown;
}

export type ParseJobResult = { ok: true; job: JobPayload } | { ok: false; error: JobPayloadError };

export function parseJob(value: unknown): ParseJobResult {
  const issues: JobPayloadIssue[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new JobPayloadError([{ path: '', message: 'expected object' }], undefined, undefined) };
  }
  const record = value as Record<string, unknown>;
  const id = record.id;
  const token = record.token;
  const idOk = typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
  const tokenOk = typeof token === 'string' && token !== '';
  if (!idOk) issues.push({ path: 'id', message: 'expected a positive safe integer' });
  if (!tokenOk) issues.push({ path: 'token', message: 'expected a non-empty string' });
  if (issues.length > 0) {
    return {
      ok: false,
      error: new JobPayloadError(issues, idOk ? (id as number) : undefined, tokenOk ? (token as string) : undefined),
    };
  }
  const features = (record.features ?? {}) as { failure_reasons?: unknown };
  const variables = Array.isArray(record.variables) ? (record.variables as { key?: unknown; value?: unknown }[]) : [];
  const debug = variables.filter((v) => v?.key === 'CI_DEBUG_TRACE').at(-1);
  return {
    ok: true,
    job: {
      ...record,
      id: id as number,
      token: token as string,
      features: {
        failure_reasons: Array.isArray(features.failure_reasons) ? (features.failure_reasons as string[]) : [],
      },
      debugTrace: debug?.value === 'true',
    },
  };
}
