import type { JobUpdateBody as WireJobUpdateBody } from '@runnerkit/job-spec';
import { JobApiError } from './errors.js';
import { readText } from './response.js';
import type { RunnerInfo } from './runner-info.js';
import type { Transport, TransportResponse } from './transport.js';

/** Largest trace PATCH body (spec §7.1). */
export const MAX_TRACE_PATCH_BYTES = 1024 * 1024;
/** Cap on the server-given update interval (spec §6.3). */
export const MAX_UPDATE_INTERVAL_MS = 15 * 60_000;

export interface JobStatusSignals {
  /** `Job-Status` as the server sent it ('' when absent). */
  jobStatus: string;
  /** `Job-Status: canceling`: stop gracefully (run after_script), then report. */
  cancelRequested: boolean;
  /** New update interval from `X-GitLab-Trace-Update-Interval` (ms), when a positive integer was sent. */
  updateIntervalMs: number | undefined;
  /** The header's text when it was present but not an integer (ignored, reported as a warning event). */
  invalidInterval?: string | undefined;
}

export function readJobStatusSignals(headers: Record<string, string>, maxIntervalMs = MAX_UPDATE_INTERVAL_MS) {
  const jobStatus = (headers['job-status'] ?? '').trim();
  const rawInterval = (headers['x-gitlab-trace-update-interval'] ?? '').trim();
  let updateIntervalMs: number | undefined;
  let invalidInterval: string | undefined;
  if (/^\d+$/.test(rawInterval)) {
    const seconds = Number.parseInt(rawInterval, 10);
    if (seconds > 0) updateIntervalMs = Math.min(seconds * 1000, maxIntervalMs);
  } else if (rawInterval !== '') {
    invalidInterval = rawInterval.slice(0, 40);
  }
  return {
    jobStatus,
    cancelRequested: jobStatus === 'canceling',
    updateIntervalMs,
    invalidInterval,
  } satisfies JobStatusSignals;
}

function isAbortStatus(jobStatus: string): boolean {
  return jobStatus === 'canceled' || jobStatus === 'failed';
}

export type UpdateOutcome = 'ok' | 'accepted' | 'trace-validation-failed' | 'abort' | 'failed';

export interface UpdateJobResult extends JobStatusSignals {
  /** Spec §6.3: ok (200), accepted (202, not complete), trace-validation-failed (412), abort, failed. */
  outcome: UpdateOutcome;
  status: number | undefined;
  error: JobApiError | undefined;
}

/** Body of `PUT /api/v4/jobs/:id` as this client builds it (always a valid job-spec `JobUpdateBody`). */
export interface JobUpdateBody {
  info: RunnerInfo;
  token: string;
  state: 'pending' | 'running' | 'success' | 'failed';
  failure_reason?: string;
  exit_code?: number;
  checksum?: string;
  output: { checksum?: string; bytesize?: number };
}

async function consume(response: TransportResponse): Promise<void> {
  await response.body.dump().catch(() => undefined);
}

/** `PUT /api/v4/jobs/:id`, interpreted as spec §6.3. Never throws except for the caller's abort. */
export async function updateJob(
  transport: Transport,
  jobId: number,
  body: JobUpdateBody,
  options: { signal?: AbortSignal | undefined; runnerToken?: string | undefined; maxIntervalMs?: number } = {},
): Promise<UpdateJobResult> {
  let response: TransportResponse;
  try {
    response = await transport.send({
      method: 'PUT',
      path: `jobs/${jobId}`,
      headers: { 'job-token': body.token },
      json: body satisfies WireJobUpdateBody,
      signal: options.signal,
      secrets: [body.token, options.runnerToken],
      runnerToken: options.runnerToken,
    });
  } catch (error) {
    if (JobApiError.isInstance(error) && error.code === 'JOB_API_ABORTED') throw error;
    const apiError = JobApiError.isInstance(error)
      ? error
      : new JobApiError('JOB_API_NETWORK_ERROR', String(error), { cause: error });
    const outcome: UpdateOutcome = apiError.code === 'JOB_API_CLIENT_ERROR' ? 'abort' : 'failed';
    return {
      outcome,
      status: undefined,
      error: apiError,
      jobStatus: '',
      cancelRequested: false,
      updateIntervalMs: undefined,
    };
  }
  const signals = readJobStatusSignals(response.headers, options.maxIntervalMs);
  const status = response.status;
  let outcome: UpdateOutcome;
  if (isAbortStatus(signals.jobStatus) || status === 403) outcome = 'abort';
  else if (status === 200) outcome = 'ok';
  else if (status === 202) outcome = 'accepted';
  else if (status === 412) outcome = 'trace-validation-failed';
  else if (status === 404) outcome = 'abort';
  else outcome = 'failed';
  let error: JobApiError | undefined;
  if (outcome === 'failed' || (outcome === 'abort' && status !== 200)) {
    const text = await readText(response);
    error = new JobApiError(
      outcome === 'abort' ? 'JOB_API_JOB_ABORTED' : 'JOB_API_UNEXPECTED_STATUS',
      `[PUT] ${response.url.pathname}: ${status}${signals.jobStatus ? ` (Job-Status: ${signals.jobStatus})` : ''}`,
      { method: 'PUT', path: response.url.pathname, status, serverMessage: text.slice(0, 500) },
    );
  } else {
    await consume(response);
  }
  return { outcome, status, error, ...signals };
}

export type PatchOutcome = 'ok' | 'range-mismatch' | 'abort' | 'not-found' | 'failed';

export interface PatchTraceResult extends JobStatusSignals {
  outcome: PatchOutcome;
  status: number | undefined;
  /** After 202: start + length; after 416: the end of the server's `Range` (0 when missing/unparsable). */
  newOffset: number | undefined;
  error: JobApiError | undefined;
}

/** The second number of `Range: 0-<n>`; 0 when missing or unparsable (spec §7.3). */
export function rangeEnd(value: string | undefined): number {
  const match = /^\s*\d+-(\d+)\s*$/.exec(value ?? '');
  if (!match) return 0;
  const end = Number.parseInt(match[1] as string, 10);
  return Number.isSafeInteger(end) ? end : 0;
}

/** `start-end` with an inclusive end (spec §7.1). */
export function contentRange(start: number, length: number): string {
  return `${start}-${start + length - 1}`;
}

/** `PATCH /api/v4/jobs/:id/trace` of `bytes` starting at `start`, interpreted as spec §7.4. */
export async function patchTrace(
  transport: Transport,
  jobId: number,
  jobToken: string,
  start: number,
  bytes: Buffer,
  options: {
    debugTrace?: boolean;
    signal?: AbortSignal | undefined;
    runnerToken?: string | undefined;
    maxIntervalMs?: number;
  } = {},
): Promise<PatchTraceResult> {
  let response: TransportResponse;
  try {
    response = await transport.send({
      method: 'PATCH',
      path: `jobs/${jobId}/trace`,
      query: { debug_trace: options.debugTrace ? 'true' : 'false' },
      headers: {
        'job-token': jobToken,
        'content-type': 'text/plain',
        'content-range': contentRange(start, bytes.length),
      },
      body: () => bytes,
      signal: options.signal,
      secrets: [jobToken, options.runnerToken],
      runnerToken: options.runnerToken,
    });
  } catch (error) {
    if (JobApiError.isInstance(error) && error.code === 'JOB_API_ABORTED') throw error;
    const apiError = JobApiError.isInstance(error)
      ? error
      : new JobApiError('JOB_API_NETWORK_ERROR', String(error), { cause: error });
    return {
      outcome: apiError.code === 'JOB_API_CLIENT_ERROR' ? 'abort' : 'failed',
      status: undefined,
      newOffset: undefined,
      error: apiError,
      jobStatus: '',
      cancelRequested: false,
      updateIntervalMs: undefined,
    };
  }
  const signals = readJobStatusSignals(response.headers, options.maxIntervalMs);
  const status = response.status;
  await consume(response);
  const path = response.url.pathname;
  if (status === 403 || isAbortStatus(signals.jobStatus)) {
    return {
      outcome: 'abort',
      status,
      newOffset: undefined,
      error: new JobApiError('JOB_API_JOB_ABORTED', `[PATCH] ${path}: ${status} (Job-Status: ${signals.jobStatus})`, {
        method: 'PATCH',
        path,
        status,
      }),
      ...signals,
    };
  }
  if (status === 202) return { outcome: 'ok', status, newOffset: start + bytes.length, error: undefined, ...signals };
  if (status === 416) {
    return {
      outcome: 'range-mismatch',
      status,
      newOffset: rangeEnd(response.headers.range),
      error: undefined,
      ...signals,
    };
  }
  const error = new JobApiError('JOB_API_UNEXPECTED_STATUS', `[PATCH] ${path}: ${status}`, {
    method: 'PATCH',
    path,
    status,
  });
  if (status === 404) return { outcome: 'not-found', status, newOffset: undefined, error, ...signals };
  return { outcome: 'failed', status, newOffset: undefined, error, ...signals };
}
