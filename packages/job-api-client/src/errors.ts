const MARKER = Symbol.for('runnerkit.job-api-client.error');

/** Stable error codes of @runnerkit/job-api-client. Never renamed once published (docs/errors.md). */
export type JobApiErrorCode =
  | 'JOB_API_CLIENT_ERROR'
  | 'JOB_API_NETWORK_ERROR'
  | 'JOB_API_ABORTED'
  | 'JOB_API_UNEXPECTED_STATUS'
  | 'JOB_API_BAD_RESPONSE'
  | 'JOB_API_FORBIDDEN'
  | 'JOB_API_REGISTRATION_DISALLOWED'
  | 'JOB_API_VALIDATION_FAILED'
  | 'JOB_API_RUNNER_ORPHANED'
  | 'JOB_API_NOT_FOUND'
  | 'JOB_API_CREATED_RUNNER_SETTINGS'
  | 'JOB_API_VERIFY_NO_ID'
  | 'JOB_API_INVALID_JOB_PAYLOAD'
  | 'JOB_API_ARTIFACT_TOO_LARGE'
  | 'JOB_API_ARTIFACT_FORBIDDEN'
  | 'JOB_API_ARTIFACT_UNAUTHORIZED'
  | 'JOB_API_ARTIFACT_NOT_FOUND'
  | 'JOB_API_ARTIFACT_UPLOAD_FAILED'
  | 'JOB_API_ARTIFACT_DOWNLOAD_FAILED'
  | 'JOB_API_TOO_MANY_REDIRECTS'
  | 'JOB_API_FINAL_UPDATE_FAILED'
  | 'JOB_API_JOB_ABORTED'
  | 'JOB_API_TRACE_CLOSED'
  | 'JOB_API_TRACE_SPOOL_FAILED';

export interface JobApiErrorOptions {
  cause?: unknown;
  /** HTTP method and path (never a query with credentials) of the call that failed. */
  method?: string;
  path?: string;
  status?: number;
  /** The server's message, already masked. */
  serverMessage?: string;
  retryable?: boolean;
}

/** Base error of the package: every failure carries a stable `code`; messages never contain tokens. */
export class JobApiError extends Error {
  readonly code: JobApiErrorCode;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly status: number | undefined;
  readonly serverMessage: string | undefined;
  readonly isRetryable: boolean;
  readonly [MARKER] = true;

  constructor(code: JobApiErrorCode, message: string, options: JobApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobApiError';
    this.code = code;
    this.method = options.method;
    this.path = options.path;
    this.status = options.status;
    this.serverMessage = options.serverMessage;
    this.isRetryable = options.retryable ?? false;
  }

  /** `instanceof` that also works across duplicate installs of the package. */
  static isInstance(value: unknown): value is JobApiError {
    return typeof value === 'object' && value !== null && (value as { [MARKER]?: unknown })[MARKER] === true;
  }
}

/** One problem in a job payload: a JSON path (`steps[0].script`) and what was wrong there. */
export interface JobPayloadIssue {
  path: string;
  message: string;
}

/**
 * The job payload from `POST /jobs/request` could not be read. `jobId`/`jobToken` are set when they could be
 * read, so the caller can still report the job as failed (runner_system_failure) instead of dropping it.
 */
export class JobPayloadError extends JobApiError {
  readonly issues: readonly JobPayloadIssue[];
  readonly jobId: number | undefined;
  /** The job token (needed to report the failure); never part of the message. */
  readonly jobToken: string | undefined;
  /** First issue's path, e.g. `steps[0].script`. */
  readonly field: string;

  constructor(issues: JobPayloadIssue[], jobId: number | undefined, jobToken: string | undefined, cause?: unknown) {
    const first = issues[0] ?? { path: '', message: 'invalid job payload' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('JOB_API_INVALID_JOB_PAYLOAD', `invalid job payload: ${first.path || '(root)'}: ${first.message}${more}`, {
      cause,
    });
    this.name = 'JobPayloadError';
    this.issues = issues;
    this.jobId = jobId;
    this.jobToken = jobToken;
    this.field = first.path;
    Object.defineProperty(this, 'jobToken', { enumerable: false });
  }
}
