import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { canonicalize } from './canonicalize.js';
import { effectiveConfig, type EffectiveConfig } from './effective.js';
import { ConfigValidationError } from './errors.js';
import { formatPath, type ConfigIssue, type IssueCode, type PathSegment } from './issues.js';
import { refineConfig } from './refine.js';
import { configSchema, type Config } from './schema/global.js';
import { Locator } from './toml/locate.js';

export interface ValidateOptions {
  /**
   * Keep the healthy runners (config-toml.md §1.1): when every error sits inside `[[runners]]` entries and is of the
   * kind GitLab Runner only meets when a job runs (an unknown executor, shell or pull policy, a bad memory size,
   * cpus or ulimit value, an unsupported `log_options` key), those runners are left out of `config`/`effective` and
   * listed in `disabledRunners`, each reported by a `runner_disabled` warning naming it, while the others load.
   * Errors anywhere else (TOML syntax, types, durations, global keys, labels, machine schedules) still reject the
   * whole file. Off by default: without it, any error rejects the file.
   */
  partialRunners?: boolean;
}

export interface ParseOptions extends ValidateOptions {
  /** Name used in error messages (a file path); defaults to `config.toml`. */
  source?: string;
}

/** A `[[runners]]` entry left out because of its errors (only with `partialRunners`). */
export interface DisabledRunner {
  /** Its index among the file's `[[runners]]` entries (what issue paths such as `runners[1].executor` use). */
  index: number;
  /** Its `name`, when it has a string one. */
  name?: string;
  /** The errors that disable it, with line and column where known. */
  issues: ConfigIssue[];
}

/** A config that has no error: the typed document, GitLab's effective values and the warnings. */
export interface ParsedConfig {
  config: Config;
  effective: EffectiveConfig;
  warnings: ConfigIssue[];
  /**
   * Only with `partialRunners`: the runners left out of `config.runners` / `effective.runners` because of their
   * errors (empty when none). Indexes and issue paths refer to the file's `[[runners]]` entries, not to
   * `config.runners`.
   */
  disabledRunners?: DisabledRunner[];
}

export type ValidationResult =
  | ({ ok: true; issues: ConfigIssue[] } & ParsedConfig)
  | {
      ok: false;
      issues: ConfigIssue[];
      config?: undefined;
      effective?: undefined;
      warnings?: undefined;
      disabledRunners?: undefined;
      cause?: unknown;
    };

type Located = Omit<ConfigIssue, 'line' | 'column'> & { segments: PathSegment[]; spelling?: string };

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
    .map(({ segments, spelling, ...issue }) => {
      const position = locator.find(segments, spelling);
      return position ? { ...issue, line: position.line, column: position.column } : issue;
    })
    .sort(compareIssues);
}

/**
 * Parses and validates config.toml text without throwing: every issue (errors and warnings) at once, each with its
 * key path and, where the text locates it, line and column. `$VAR` in `url`/`token` is left as written.
 */
export function validateConfig(text: string, options: ValidateOptions = {}): ValidationResult {
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
  if (options.partialRunners) return validatePartially(text, tree, keyIssues);
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

/**
 * Errors GitLab Runner meets only when a job runs (config-toml.md §1 step 5), so they disable one runner, not the
 * file: enum and format violations of a runner's own keys. Labels, machine schedules, monitoring regexes and
 * datetimes are checked while loading (steps 1–2) and keep rejecting the whole file.
 */
function confinedRunner(issue: Located): number | undefined {
  const [section, index, table] = issue.segments;
  if (section !== 'runners' || typeof index !== 'number' || issue.severity !== 'error') return undefined;
  if (issue.code === 'invalid_enum' || issue.code === 'invalid_value') return index;
  if (issue.code === 'invalid_format' && table === 'docker') return index;
  return undefined;
}

function renumber(issue: Located, original: readonly number[]): Located {
  const [section, index, ...rest] = issue.segments;
  if (section !== 'runners' || typeof index !== 'number') return issue;
  const segments = ['runners', original[index] ?? index, ...rest];
  return { ...issue, segments, path: formatPath(segments) };
}

function runnerName(runner: unknown): string | undefined {
  const name = typeof runner === 'object' && runner !== null ? (runner as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/**
 * `partialRunners`: validate, leave out every runner whose errors are all confined to it, and validate again with
 * the rest (refinements may find more), until the remaining config has no error or an error that is not confined.
 */
function validatePartially(text: string, tree: Record<string, unknown>, keyIssues: Located[]): ValidationResult {
  const runners = Array.isArray(tree.runners) ? [...(tree.runners as unknown[])] : undefined;
  let original = runners ? runners.map((_, i) => i) : [];
  const disabled = new Map<number, Located[]>();
  const working: Record<string, unknown> = runners ? { ...tree, runners } : tree;
  for (;;) {
    const result = configSchema.safeParse(working);
    const found = (result.success ? refineConfig(result.data as Config) : result.error.issues.map(fromZod)).map(
      (issue) => renumber(issue, original),
    );
    const errors = [...keyIssues, ...found].filter((issue) => issue.severity === 'error');
    const confined = errors.map(confinedRunner);
    if (errors.length > 0 && runners && confined.every((index) => index !== undefined)) {
      errors.forEach((issue, i) => {
        const index = confined[i] as number;
        disabled.set(index, [...(disabled.get(index) ?? []), issue]);
      });
      const keep = original.map((index, position) => (disabled.has(index) ? -1 : position)).filter((p) => p >= 0);
      working.runners = keep.map((position) => (working.runners as unknown[])[position]);
      original = keep.map((position) => original[position] as number);
      continue;
    }
    const reports = [...disabled].map(([index, issues]): Located => {
      const name = runnerName(runners?.[index]);
      const segments = ['runners', index];
      return {
        severity: 'warning',
        code: 'runner_disabled',
        segments,
        path: formatPath(segments),
        message: `runner ${name === undefined ? `#${index}` : JSON.stringify(name)} (runners[${index}]) is disabled: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      };
    });
    const disabledIssues = [...disabled.values()].flat();
    const nonErrors = [...keyIssues, ...found].filter((issue) => issue.severity !== 'error');
    if (!result.success || errors.length > 0) {
      const issues = locate(text, [...keyIssues, ...disabledIssues, ...found]);
      return { ok: false, issues, ...(result.success ? {} : { cause: result.error }) };
    }
    const config = result.data as Config;
    const warnings = locate(text, [...nonErrors, ...reports]);
    const disabledRunners = [...disabled].map(([index, issues]): DisabledRunner => {
      const name = runnerName(runners?.[index]);
      return { index, ...(name === undefined ? {} : { name }), issues: locate(text, issues) };
    });
    disabledRunners.sort((a, b) => a.index - b.index);
    const issues = locate(text, [...nonErrors, ...reports, ...disabledIssues]);
    return { ok: true, issues, config, effective: effectiveConfig(config), warnings, disabledRunners };
  }
}

/**
 * Parses config.toml text; throws `ConfigValidationError` (listing every issue) when there is any error — or, with
 * `partialRunners`, any error that is not confined to the runners it disables.
 */
export function parseConfig(text: string, options: ParseOptions = {}): ParsedConfig {
  const result = validateConfig(text, options.partialRunners ? { partialRunners: true } : {});
  if (!result.ok) {
    throw new ConfigValidationError(result.issues, {
      cause: result.cause,
      ...(options.source === undefined ? {} : { source: options.source }),
    });
  }
  const parsed: ParsedConfig = { config: result.config, effective: result.effective, warnings: result.warnings };
  if (result.disabledRunners) parsed.disabledRunners = result.disabledRunners;
  return parsed;
}
