const MARKER = Symbol.for('runnerkit.coordinator.error');

export type CoordinatorErrorCode =
  | 'COORDINATOR_INVALID_OPTIONS'
  | 'COORDINATOR_LISTEN_FAILED'
  | 'COORDINATOR_STATE_UNREADABLE'
  | 'COORDINATOR_NOT_FOUND'
  | 'COORDINATOR_CONFLICT'
  | 'COORDINATOR_INVALID_REQUEST'
  | 'COORDINATOR_PIPELINE_FAILED';

/** The base error of the coordinator. `code` strings never change. */
export class CoordinatorError extends Error {
  readonly code: CoordinatorErrorCode;

  constructor(code: CoordinatorErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CoordinatorError';
    this.code = code;
    Object.defineProperty(this, MARKER, { value: true });
  }

  static isInstance(value: unknown): value is CoordinatorError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}
