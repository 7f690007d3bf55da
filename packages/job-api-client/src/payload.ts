import { type JobPayload, parseJobPayload } from '@runnerkit/job-spec';
import { JobPayloadError } from './errors.js';
import { redact } from './mask.js';

export type { JobPayload };

export type ParseJobResult = { ok: true; job: JobPayload } | { ok: false; error: JobPayloadError };

/**
 * Parses a decoded job payload with @runnerkit/job-spec. Problems become a {@link JobPayloadError} naming each
 * field; its `jobId`/`jobToken` are set when they could be read, so the job can still be reported failed.
 */
export function parseJob(value: unknown): ParseJobResult {
  const result = parseJobPayload(value);
  if (result.success) return { ok: true, job: result.data };
  // Issue messages quote short values; mask anything token-like (and the job token) before they are shown.
  const secrets = [result.job?.token];
  const issues = result.error.issues.map((issue) => ({ path: issue.path, message: redact(issue.message, secrets) }));
  return {
    ok: false,
    // Not job-spec's error itself as the cause: its zod issues keep the offending input values (maybe secrets).
    error: new JobPayloadError(
      issues,
      result.job?.id,
      result.job?.token,
      new Error(redact(result.error.message, secrets)),
    ),
  };
}

/** CI_DEBUG_TRACE of the job (the last occurrence wins, as for every variable). */
export function debugTraceEnabled(job: JobPayload): boolean {
  const variable = job.variables.filter((v) => v.key === 'CI_DEBUG_TRACE').at(-1);
  return variable?.value === 'true';
}
