// Typed errors of the SSH executor. They extend job-runtime's ExecutorError so the runtime reads the failure
// reason (and does not retry them: the connection code retries transient failures itself); `executorCode` is this
// package's stable code (catalogued in docs/errors.md).
import { ExecutorError } from '@runnerkit/job-runtime';

export type SshExecutorErrorCode =
  | 'SSH_EXECUTOR_CONFIGURATION'
  | 'SSH_EXECUTOR_KEY_ENCRYPTED'
  | 'SSH_EXECUTOR_KEY_INVALID'
  | 'SSH_EXECUTOR_KNOWN_HOSTS_MISSING'
  | 'SSH_EXECUTOR_HOST_KEY_UNKNOWN'
  | 'SSH_EXECUTOR_HOST_KEY_MISMATCH'
  | 'SSH_EXECUTOR_HOST_KEY_REVOKED'
  | 'SSH_EXECUTOR_AUTHENTICATION'
  | 'SSH_EXECUTOR_CONNECT'
  | 'SSH_EXECUTOR_CONNECTION_LOST'
  | 'SSH_EXECUTOR_COMMAND'
  | 'SSH_EXECUTOR_TRANSFER';

type Reason = ConstructorParameters<typeof ExecutorError>[1];

const MARKER = Symbol.for('@runnerkit/executor-ssh.error');

export class SshExecutorError extends ExecutorError {
  readonly executorCode: SshExecutorErrorCode;
  constructor(
    executorCode: SshExecutorErrorCode,
    message: string,
    failureReason: Reason = 'runner_system_failure',
    options: { cause?: unknown } = {},
  ) {
    super(message, failureReason, options);
    this.executorCode = executorCode;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** `instanceof` that also works across duplicate installs of this package. */
  static override isInstance(value: unknown): value is SshExecutorError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A `[runners.ssh]` value or executor option the executor cannot use (runner_configuration_error). */
export class SshConfigurationError extends SshExecutorError {
  constructor(
    message: string,
    code: Extract<
      SshExecutorErrorCode,
      | 'SSH_EXECUTOR_CONFIGURATION'
      | 'SSH_EXECUTOR_KEY_ENCRYPTED'
      | 'SSH_EXECUTOR_KEY_INVALID'
      | 'SSH_EXECUTOR_KNOWN_HOSTS_MISSING'
    > = 'SSH_EXECUTOR_CONFIGURATION',
    options: { cause?: unknown } = {},
  ) {
    super(code, message, 'runner_configuration_error', options);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
