const MARKER = Symbol.for('@runnerkit/docker-engine-client.error');

/** Stable error codes. They never change once published (catalogued in docs/errors.md). */
export type DockerErrorCode =
  | 'DOCKER_NOT_FOUND'
  | 'DOCKER_IMAGE_NOT_FOUND'
  | 'DOCKER_CONFLICT'
  | 'DOCKER_BAD_PARAMETER'
  | 'DOCKER_UNAUTHORIZED'
  | 'DOCKER_FORBIDDEN'
  | 'DOCKER_DAEMON_ERROR'
  | 'DOCKER_UNEXPECTED_STATUS'
  | 'DOCKER_DAEMON_UNAVAILABLE'
  | 'DOCKER_TIMEOUT'
  | 'DOCKER_ABORTED'
  | 'DOCKER_PROTOCOL_ERROR'
  | 'DOCKER_STREAM_ERROR'
  | 'DOCKER_API_VERSION_UNSUPPORTED'
  | 'DOCKER_INVALID_OPTIONS'
  | 'DOCKER_CLIENT_CLOSED';

export interface DockerErrorDetails {
  /** HTTP method of the call, e.g. `POST`. */
  method?: string | undefined;
  /** Path of the call without query string, e.g. `/v1.41/containers/abc/start`. */
  endpoint?: string | undefined;
  /** HTTP status the daemon answered, when there was an answer. */
  statusCode?: number | undefined;
  /** The daemon's own message (`{"message": ...}` body, or stream `error` field). */
  daemonMessage?: string | undefined;
  cause?: unknown;
}

/** Base class of every error this package throws. `code` is stable; `message` names the call. */
export class DockerError extends Error {
  readonly code: DockerErrorCode;
  readonly method: string | undefined;
  readonly endpoint: string | undefined;
  readonly statusCode: number | undefined;
  readonly daemonMessage: string | undefined;

  constructor(code: DockerErrorCode, message: string, details: DockerErrorDetails = {}) {
    const prefix = details.method && details.endpoint ? `[${details.method}] ${details.endpoint}: ` : '';
    super(prefix + message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.method = details.method;
    this.endpoint = details.endpoint;
    this.statusCode = details.statusCode;
    this.daemonMessage = details.daemonMessage;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** `instanceof` that also works across duplicate installs of this package. */
  static isInstance(value: unknown): value is DockerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** True for failures a caller may reasonably retry (daemon down, timeouts, 5xx). */
  get isRetryable(): boolean {
    return (
      this.code === 'DOCKER_DAEMON_UNAVAILABLE' || this.code === 'DOCKER_TIMEOUT' || this.code === 'DOCKER_DAEMON_ERROR'
    );
  }
}

/** 404: no such container / network / volume / exec / path. */
export class NotFoundError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}, code: DockerErrorCode = 'DOCKER_NOT_FOUND') {
    super(code, message, details);
  }
}

/** 404 on an image (inspect, remove, tag, create from a missing image, pull of an unknown reference). */
export class ImageNotFoundError extends NotFoundError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super(message, details, 'DOCKER_IMAGE_NOT_FOUND');
  }
}

/** 409: name in use, container running, image in use, … */
export class ConflictError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_CONFLICT', message, details);
  }
}

/** 400: the daemon rejected the request's parameters (malformed env, bad filter, …). */
export class BadParameterError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_BAD_PARAMETER', message, details);
  }
}

/** 401 (registry credentials refused). */
export class UnauthorizedError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_UNAUTHORIZED', message, details);
  }
}

/** 403 (operation not permitted, e.g. connecting a container to the host network). */
export class ForbiddenError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_FORBIDDEN', message, details);
  }
}

/** 5xx: the daemon failed. */
export class DaemonError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_DAEMON_ERROR', message, details);
  }
}

/** A status the endpoint does not declare (neither success nor one of the mapped errors). */
export class UnexpectedStatusError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_UNEXPECTED_STATUS', message, details);
  }
}

/** The daemon could not be reached: socket missing, connection refused or reset before an answer, TLS refused. */
export class DaemonUnavailableError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_DAEMON_UNAVAILABLE', message, details);
  }
}

/** The per-call timeout elapsed. */
export class TimeoutError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_TIMEOUT', message, details);
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_ABORTED', message, details);
  }
}

/** The daemon's answer was not valid HTTP / JSON / stream framing, or was cut short. */
export class ProtocolError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_PROTOCOL_ERROR', message, details);
  }
}

/** An error the daemon reported inside a 200 streamed answer (pull, load, build progress). */
export class StreamError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_STREAM_ERROR', message, details);
  }
}

/** The daemon's API version is below the minimum this client supports (1.25). */
export class ApiVersionError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_API_VERSION_UNSUPPORTED', message, details);
  }
}

/** The options handed to the client are unusable (bad host URL, TLS without material, …). */
export class InvalidOptionsError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_INVALID_OPTIONS', message, details);
  }
}

/** A call was made after `close()` (or `await using` ended the client's scope). */
export class ClientClosedError extends DockerError {
  constructor(message: string, details: DockerErrorDetails = {}) {
    super('DOCKER_CLIENT_CLOSED', message, details);
  }
}
