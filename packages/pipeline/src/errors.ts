/** One problem found in a CI configuration: a stable code, where it is, and what to do. */
export interface PipelineIssue {
  /** Stable code, listed in README.md and docs/errors.md. */
  code: PipelineIssueCode;
  /** File the problem is in (as named by the caller or by `include:local`). */
  file: string;
  /** 1-based line of the offending key, when known. */
  line?: number;
  /** 1-based column of the offending key, when known. */
  column?: number;
  /** Key path in GitLab's notation, e.g. `jobs:build:script` or `include`. */
  path: string;
  /** What happened, without the location prefix. */
  message: string;
}

export const PIPELINE_ISSUE_CODES = [
  'PIPELINE_YAML_SYNTAX',
  'PIPELINE_KEY_UNKNOWN',
  'PIPELINE_KEY_INVALID',
  'PIPELINE_SCRIPT_MISSING',
  'PIPELINE_INCLUDE_NOT_FOUND',
  'PIPELINE_INCLUDE_OFFLINE',
  'PIPELINE_EXTENDS_UNKNOWN',
  'PIPELINE_EXTENDS_CYCLE',
  'PIPELINE_REFERENCE_UNKNOWN',
  'PIPELINE_STAGE_UNKNOWN',
  'PIPELINE_NEEDS_INVALID',
  'PIPELINE_DEPENDENCIES_INVALID',
  'PIPELINE_EXPRESSION_INVALID',
  'PIPELINE_PARALLEL_INVALID',
  'PIPELINE_NO_JOBS',
  'PIPELINE_WORKFLOW_FILTERED',
] as const;
export type PipelineIssueCode = (typeof PIPELINE_ISSUE_CODES)[number];

/** `file:line path: message`, the way every issue is printed. */
export function formatIssue(issue: PipelineIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

const MARKER = Symbol.for('runnerkit.pipeline.error');

export type PipelineErrorCode =
  | 'PIPELINE_CONFIG_INVALID'
  | 'PIPELINE_GIT_FAILED'
  | 'PIPELINE_SCHEDULER_STATE'
  | 'PIPELINE_PAYLOAD_INVALID';

/** Base error of @runnerkit/pipeline. `PipelineError.isInstance` works across duplicate installs. */
export class PipelineError extends Error {
  readonly [MARKER] = true;
  readonly code: PipelineErrorCode;
  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PipelineError';
    this.code = code;
  }
  static isInstance(value: unknown): value is PipelineError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** The configuration cannot become a pipeline; `issues` lists every problem found. */
export class PipelineConfigError extends PipelineError {
  readonly issues: readonly PipelineIssue[];
  constructor(issues: readonly PipelineIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('PIPELINE_CONFIG_INVALID', first ? `${formatIssue(first)}${more}` : 'invalid CI configuration', {
      cause: options?.cause ?? issues,
    });
    this.name = 'PipelineConfigError';
    this.issues = issues;
  }
}

/** `git` could not be run or answered something unexpected while reading a checkout. */
export class GitFactsError extends PipelineError {
  constructor(message: string, options: { cause: unknown }) {
    super('PIPELINE_GIT_FAILED', message, options);
    this.name = 'GitFactsError';
  }
}

/** A scheduler call that does not fit the job's state (starting a job that is not ready, …). */
export class SchedulerStateError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PIPELINE_SCHEDULER_STATE', message, { cause: options?.cause ?? null });
    this.name = 'SchedulerStateError';
  }
}
