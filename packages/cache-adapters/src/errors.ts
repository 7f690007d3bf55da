/** Stable error codes of @runnerkit/cache-adapters (catalogued in docs/errors.md; never renamed). */
export type CacheErrorCode =
  | 'CACHE_CONFIG_INVALID'
  | 'CACHE_CREDENTIALS_MISSING'
  | 'CACHE_OBJECT_NAME_INVALID'
  | 'CACHE_KEY_INVALID'
  | 'CACHE_POLICY_UNKNOWN'
  | 'CACHE_TRANSFER_FAILED'
  | 'CACHE_OBJECT_NOT_FOUND'
  | 'ARCHIVE_PATH_TRAVERSAL'
  | 'ARCHIVE_LINK_ESCAPE'
  | 'ARCHIVE_LIMIT_EXCEEDED'
  | 'ARCHIVE_TRUNCATED'
  | 'ARCHIVE_CORRUPT'
  | 'ARCHIVE_FORMAT_UNKNOWN'
  | 'ARCHIVE_FORMAT_UNSUPPORTED'
  | 'ARCHIVE_PATH_OUTSIDE_PROJECT'
  | 'ARCHIVE_RAW_MULTIPLE_FILES'
  | 'ARCHIVE_UNTRACKED_FAILED';

const MARKER = Symbol.for('runnerkit.cache-adapters.error');

/** Base class of every error this package throws; `code` is stable, `cause` carries the underlying error. */
export class CacheAdapterError extends Error {
  readonly code: CacheErrorCode;
  readonly [MARKER] = true;

  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CacheAdapterError';
    this.code = code;
  }

  /** `instanceof` that also works across duplicate installs of this package. */
  static isInstance(value: unknown): value is CacheAdapterError {
    return typeof value === 'object' && value !== null && (value as { [MARKER]?: unknown })[MARKER] === true;
  }
}

/** Settings that cannot produce a working adapter (missing bucket, unknown encryption, …). */
export class CacheConfigError extends CacheAdapterError {
  constructor(
    code: 'CACHE_CONFIG_INVALID' | 'CACHE_CREDENTIALS_MISSING',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'CacheConfigError';
  }
}

/** A cache key or object name that is empty or escapes its project prefix, or an unknown policy. */
export class CacheKeyError extends CacheAdapterError {
  constructor(
    code: 'CACHE_KEY_INVALID' | 'CACHE_OBJECT_NAME_INVALID' | 'CACHE_POLICY_UNKNOWN',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'CacheKeyError';
  }
}

/** An upload or download that did not succeed; the URL in the message has its query removed. */
export class CacheTransferError extends CacheAdapterError {
  readonly status: number | undefined;
  constructor(
    code: 'CACHE_TRANSFER_FAILED' | 'CACHE_OBJECT_NOT_FOUND',
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(code, message, options);
    this.name = 'CacheTransferError';
    this.status = options?.status;
  }
}

/** Archive creation or extraction refused the input; nothing was written outside the target. */
export class ArchiveError extends CacheAdapterError {
  /** The entry (archive-relative path) that caused the failure, when there is one. */
  readonly entry: string | undefined;
  constructor(
    code:
      | 'ARCHIVE_PATH_TRAVERSAL'
      | 'ARCHIVE_LINK_ESCAPE'
      | 'ARCHIVE_LIMIT_EXCEEDED'
      | 'ARCHIVE_TRUNCATED'
      | 'ARCHIVE_CORRUPT'
      | 'ARCHIVE_FORMAT_UNKNOWN'
      | 'ARCHIVE_FORMAT_UNSUPPORTED'
      | 'ARCHIVE_PATH_OUTSIDE_PROJECT'
      | 'ARCHIVE_RAW_MULTIPLE_FILES'
      | 'ARCHIVE_UNTRACKED_FAILED',
    message: string,
    options?: { cause?: unknown; entry?: string },
  ) {
    super(code, message, options);
    this.name = 'ArchiveError';
    this.entry = options?.entry;
  }
}
