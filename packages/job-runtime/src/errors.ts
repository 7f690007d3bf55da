import type { RunnerFailureReason } from '@runnerkit/job-spec';

const MARKER = Symbol.for('@runnerkit/job-runtime.error');

/** Stable error codes. They never change once published (catalogued in docs/errors.md). */
export type RuntimeErrorCode =
  | 'JOB_RUNTIME_SHELL_NOT_SUPPORTED'
  | 'JOB_RUNTIME_EXECUTOR_FAILURE'
  | 'JOB_RUNTIME_CONFIGURATION'
  | 'JOB_RUNTIME_IMAGE_PULL'
  | 'JOB_RUNTIME_EXTERNAL_DEPENDENCY'
  | 'JOB_RUNTIME_STAGE_FAILED'
  | 'JOB_RUNTIME_INVALID_JOB';

/**
 * GitLab's failure reasons the runtime can produce (api-spec §6.6), as job-spec names them. `job_canceled` is
 * runner-internal; mapping to what a given GitLab accepts (`mapFailureReason`) happens when the result is reported.
 */
export type RuntimeFailureReason = Exclude<RunnerFailureReason, 'unknown_failure'>;

export interface RuntimeErrorOptions {
  cause?: unknown;
}

/** Base class of every error this package throws. `code` is stable; `message` says what happened. */
export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** `instanceof` that also works across duplicate installs of this package. */
  static isInstance(value: unknown): value is RuntimeError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** The job asks for a shell the runtime cannot write scripts for (pwsh, powershell, cmd …). */
export class ShellNotSupportedError extends RuntimeError {
  readonly shell: string;
  constructor(shell: string, options: RuntimeErrorOptions = {}) {
    super(
      'JOB_RUNTIME_SHELL_NOT_SUPPORTED',
      `shell "${shell}" is not supported: runnerkit writes job scripts for "bash" and "sh" only`,
      options,
    );
    this.shell = shell;
  }
}

/**
 * An executor failed in a way GitLab classifies: executors throw this (or a subclass) from `prepare`, `run` or
 * a stage handler to choose the job's failure reason. Anything else an executor throws becomes
 * `runner_system_failure`.
 */
export class ExecutorError extends RuntimeError {
  readonly failureReason: Exclude<RuntimeFailureReason, 'script_failure' | 'job_canceled'>;
  constructor(
    message: string,
    failureReason: Exclude<RuntimeFailureReason, 'script_failure' | 'job_canceled'> = 'runner_system_failure',
    options: RuntimeErrorOptions = {},
  ) {
    const code: RuntimeErrorCode =
      failureReason === 'runner_configuration_error'
        ? 'JOB_RUNTIME_CONFIGURATION'
        : failureReason === 'image_pull_failure'
          ? 'JOB_RUNTIME_IMAGE_PULL'
          : failureReason === 'runner_external_dependency_failure'
            ? 'JOB_RUNTIME_EXTERNAL_DEPENDENCY'
            : 'JOB_RUNTIME_EXECUTOR_FAILURE';
    super(code, message, options);
    this.failureReason = failureReason;
  }
}

/** A runner-side stage (cache, artifacts, sources) failed without a shell exit code. */
export class StageFailedError extends RuntimeError {
  readonly stage: string;
  constructor(stage: string, message: string, options: RuntimeErrorOptions = {}) {
    super('JOB_RUNTIME_STAGE_FAILED', message, options);
    this.stage = stage;
  }
}

/** The job payload cannot be run as given (e.g. unsupported `run:` steps, bad variable names). */
export class InvalidJobError extends RuntimeError {
  constructor(message: string, options: RuntimeErrorOptions = {}) {
    super('JOB_RUNTIME_INVALID_JOB', message, options);
  }
}
