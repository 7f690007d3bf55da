// Typed errors of the Docker executor. They extend job-runtime's ExecutorError so the runtime reads the
// failure reason; `executorCode` is this package's stable code (catalogued in docs/errors.md).
import { ExecutorError } from '@runnerkit/job-runtime';

export type DockerExecutorErrorCode =
  | 'DOCKER_EXECUTOR_CONFIGURATION'
  | 'DOCKER_EXECUTOR_NO_IMAGE'
  | 'DOCKER_EXECUTOR_DISALLOWED_IMAGE'
  | 'DOCKER_EXECUTOR_IMAGE_PULL'
  | 'DOCKER_EXECUTOR_NO_SHELL'
  | 'DOCKER_EXECUTOR_CONTAINER_EXITED'
  | 'DOCKER_EXECUTOR_SERVICE'
  | 'DOCKER_EXECUTOR_GIT'
  | 'DOCKER_EXECUTOR_TRANSFER'
  | 'DOCKER_EXECUTOR_DAEMON';

type Reason = ConstructorParameters<typeof ExecutorError>[1];

export class DockerExecutorError extends ExecutorError {
  readonly executorCode: DockerExecutorErrorCode;
  constructor(
    executorCode: DockerExecutorErrorCode,
    message: string,
    failureReason: Reason,
    options: { cause?: unknown } = {},
  ) {
    super(message, failureReason, options);
    this.executorCode = executorCode;
  }
}

/** A `[runners.docker]` value or a job option the executor cannot apply (runner_configuration_error). */
export class DockerConfigurationError extends DockerExecutorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('DOCKER_EXECUTOR_CONFIGURATION', message, 'runner_configuration_error', options);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
