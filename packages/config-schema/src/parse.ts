import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { canonicalize } from './canonicalize.js';
import { effectiveConfig, type EffectiveConfig } from './effective.js';
import { ConfigValidationError } from './errors.js';
import { formatPath, type ConfigIssue, type IssueCode, type PathSegment } from './issues.js';
import { refineConfig } from './refine.js';
import { configSchema, type Config } from './schema/global.js';
import { Locator } from './toml/locate.js';

export interface ParseOptions {
  /** Name used in error messages (a file path); defaults to `config.toml`. */
  source?: string;
}

/** A config that has no error: the typed document, GitLab's effective values and the warnings. */
export interface ParsedConfig {
  config: Config;
  effective: EffectiveConfig;
  warnings: ConfigIssue[];
}

export type ValidationResult =
  | ({ ok: true; issues: ConfigIssue[] } & ParsedConfig)
  | { ok: false; issues: ConfigIssue[]; config?: undefined; effective?: undefined; cause?: unknown };

type Located = Omit<ConfigIssue, 'line' | 'column'> & { segments: PathSegment[] };

const ZOD_CODES: Partial<Record<string, IssueCode>> = {
  invalid_type: 'type_mismatch',
  invalid_union: 'type_mismatch',
  invalid_key: 'type_mismatch',
  invalid_element: 'type_mismatch',
  invalid_value: 'invalid_enum',
  too_big: 'out_of_range',
  too_small: 'out_of_range',
};

function fromZod(issue: z.core.$ZodIssue): Located {
  const segments = issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
  const custom = issue.code === 'custom' ? (issue.params as { code?: IssueCode } | undefined)?.code : undefined;
  return {
    severity: 'error',
    code: custom ?? ZOD_CODES[issue.code] ?? 'type_mismatch',
    segments,
    path: formatPath(segments),
    message: issue.message,
  };
}

function compareIssues(a: ConfigIssue, b: ConfigIssue): number {
  const line = (a.line ?? 0) - (b.line ?? 0);
  if (line !== 0) return line;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}

function locate(text: string, issues: Located[]): ConfigIssue[] {
  if (issues.length === 0) return [];
  const locator = new Locator(text);
  return issues
    .map(({ segments, ...issue }) => {
      const position = locator.find(segments);
      return position ? { ...issue, line: position.line, column: position.column } : issue;
    })
    .sort(compareIssues);
}

/**
 * Parses and validates config.toml text without throwing: every issue (errors and warnings) at once, each with its
 * key path and, where the text locates it, line and column. `$VAR` in `url`/`token` is left as written.
 */
export function validateConfig(text: string): ValidationResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(body, { integersAsBigInt: true, maxDepth: 100 });
  } catch (error) {
    const line = error instanceof TomlError ? error.line : undefined;
    const column = error instanceof TomlError ? error.column : undefined;
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    const where = line === undefined ? '' : ` at line ${line}, column ${column}`;
    const issue: ConfigIssue = {
      severity: 'error',
      code: 'toml_syntax',
      path: '<document>',
      message: `invalid TOML${where}: ${detail.replace(/^Invalid TOML document: /, '')}`,
    };
    if (line !== undefined) issue.line = line;
    if (column !== undefined) issue.column = column;
    return { ok: false, issues: [issue], cause: error };
  }

  const { tree, issues: keyIssues } = canonicalize(raw, configSchema);
  const result = configSchema.safeParse(tree);
  if (!result.success) {
    const issues = locate(text, [...keyIssues, ...result.error.issues.map(fromZod)]);
    return { ok: false, issues, cause: result.error };
  }
  const config = result.data as Config;
  const issues = locate(text, [...keyIssues, ...refineConfig(config)]);
  if (issues.some((issue) => issue.severity === 'error')) return { ok: false, issues };
  return { ok: true, issues, config, effective: effectiveConfig(config), warnings: issues };
}

/** Parses config.toml text; throws `ConfigValidationError` (listing every issue) when there is any error. */
export function parseConfig(text: string, options: ParseOptions = {}): ParsedConfig {
  const result = validateConfig(text);
  if (!result.ok) {
    throw new ConfigValidationError(result.issues, {
      cause: result.cause,
      ...(options.source === undefined ? {} : { source: options.source }),
    });
  }
  return { config: result.config, effective: result.effective, warnings: result.warnings };
}
