import type { ConfigIssue } from './issues.js';

const MARKER = Symbol.for('runnerkit.config-schema.error');

/** Error codes of this package (catalogued in docs/errors.md). */
export type ConfigSchemaErrorCode = 'CONFIG_SCHEMA_INVALID' | 'CONFIG_SCHEMA_UNWRITABLE_VALUE';

/** Base class of every error this package throws; `isInstance` works across duplicate installs. */
export class ConfigSchemaError extends Error {
  readonly code: ConfigSchemaErrorCode;
  readonly [MARKER] = true;

  constructor(code: ConfigSchemaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigSchemaError';
    this.code = code;
  }

  static isInstance(value: unknown): value is ConfigSchemaError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/**
 * The config has at least one error. `issues` lists every problem found (errors and warnings), each with its
 * key path, line and column where known, what was found and what was expected.
 */
export class ConfigValidationError extends ConfigSchemaError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown; source?: string }) {
    const errors = issues.filter((issue) => issue.severity === 'error');
    const where = options?.source ?? 'config.toml';
    const lines = errors.map(
      (issue) => `  ${where}${issue.line === undefined ? '' : `:${issue.line}`} ${issue.path}: ${issue.message}`,
    );
    super(
      'CONFIG_SCHEMA_INVALID',
      `${where} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      options,
    );
    this.name = 'ConfigValidationError';
    this.issues = issues;
  }

  static override isInstance(value: unknown): value is ConfigValidationError {
    return ConfigSchemaError.isInstance(value) && value.code === 'CONFIG_SCHEMA_INVALID';
  }
}

/** `stringify` met a value TOML cannot represent (a function, a symbol, a cycle, `undefined` in an array). */
export class ConfigWriteError extends ConfigSchemaError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('CONFIG_SCHEMA_UNWRITABLE_VALUE', `${path}: ${message}`, options);
    this.name = 'ConfigWriteError';
    this.path = path;
  }
}
