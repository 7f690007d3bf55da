const MARKER = Symbol.for('runnerkit.job-spec.error');

export type JobSpecErrorCode = 'JOB_SPEC_INVALID_PAYLOAD' | 'JOB_SPEC_INVALID_BODY';

/** One problem found in a payload or body, with the JSON path it concerns (`steps[0].script`). */
export interface JobSpecIssue {
  /** zod's issue code (`invalid_type`, `too_small`, `custom`, …). */
  readonly code: string;
  /** The path as text: `steps[0].script`; empty for the root. */
  readonly path: string;
  /** The path as segments. */
  readonly segments: readonly (string | number)[];
  /** What is wrong, without the path: `expected array of strings, got string`. */
  readonly message: string;
}

/** The base error of this package. `code` strings never change. */
export class JobSpecError extends Error {
  readonly code: JobSpecErrorCode;
  readonly issues: readonly JobSpecIssue[];

  constructor(code: JobSpecErrorCode, message: string, issues: readonly JobSpecIssue[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'JobSpecError';
    this.code = code;
    this.issues = issues;
    Object.defineProperty(this, MARKER, { value: true });
  }

  static isInstance(value: unknown): value is JobSpecError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A job payload that does not have the documented shape (api-spec §5.6). Never contains the job token. */
export class InvalidJobPayloadError extends JobSpecError {
  constructor(issues: readonly JobSpecIssue[], options?: ErrorOptions) {
    super('JOB_SPEC_INVALID_PAYLOAD', `invalid job payload: ${formatIssues(issues)}`, issues, options);
    this.name = 'InvalidJobPayloadError';
  }
}

/** A request or answer body that does not have the documented shape. */
export class InvalidBodyError extends JobSpecError {
  readonly body: string;
  constructor(body: string, issues: readonly JobSpecIssue[], options?: ErrorOptions) {
    super('JOB_SPEC_INVALID_BODY', `invalid ${body}: ${formatIssues(issues)}`, issues, options);
    this.name = 'InvalidBodyError';
    this.body = body;
  }
}

export function formatIssues(issues: readonly JobSpecIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
}
