import type { PipelineIssue, PipelineIssueCode } from '../errors.js';
import { YamlReference } from '../parse/parse-yaml.js';
import type {
  AllowFailure,
  ArtifactsConfig,
  CacheConfig,
  ImageConfig,
  ImagePort,
  JobConfig,
  JobWhen,
  NeedConfig,
  NormalizedConfig,
  OnlyExceptConfig,
  ParallelConfig,
  RetryConfig,
  RuleConfig,
  ServiceConfig,
  WorkflowConfig,
  YamlVariable,
} from '../types.js';
import { parseDuration } from './duration.js';
import type { LoadedConfig } from './include.js';
import { deepMerge, isPlainObject, type Plain } from './merge.js';

export const DEFAULT_STAGES = ['build', 'test', 'deploy'] as const;

const GLOBAL_KEYS = new Set([
  'image',
  'services',
  'stages',
  'types',
  'before_script',
  'after_script',
  'variables',
  'cache',
  'include',
  'workflow',
  'default',
  'spec',
]);
const DEFAULT_KEYS = [
  'after_script',
  'artifacts',
  'before_script',
  'cache',
  'hooks',
  'id_tokens',
  'image',
  'interruptible',
  'retry',
  'services',
  'tags',
  'timeout',
] as const;
const JOB_KEYS = new Set([
  'after_script',
  'allow_failure',
  'artifacts',
  'before_script',
  'cache',
  'coverage',
  'dast_configuration',
  'dependencies',
  'environment',
  'except',
  'extends',
  'hooks',
  'id_tokens',
  'identity',
  'image',
  'inherit',
  'inputs',
  'interruptible',
  'manual_confirmation',
  'needs',
  'only',
  'pages',
  'parallel',
  'release',
  'resource_group',
  'retry',
  'rules',
  'run',
  'script',
  'secrets',
  'services',
  'stage',
  'start_in',
  'tags',
  'timeout',
  'trigger',
  'type',
  'variables',
  'when',
]);
const RULE_KEYS = new Set([
  'if',
  'changes',
  'exists',
  'when',
  'start_in',
  'allow_failure',
  'variables',
  'needs',
  'interruptible',
]);
const JOB_WHEN = ['on_success', 'on_failure', 'always', 'manual', 'delayed'] as const;
const RULE_WHEN = [...JOB_WHEN, 'never'] as const;
const RESULT_WHEN = ['on_success', 'on_failure', 'always'] as const;
const RETRY_WHEN = new Set([
  'always',
  'unknown_failure',
  'script_failure',
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'runner_unsupported',
  'stale_schedule',
  'job_execution_timeout',
  'archived_failure',
  'unmet_prerequisites',
  'scheduler_failure',
  'data_integrity_failure',
]);
const MAX_EXTENDS_DEPTH = 11;
const MAX_REFERENCE_DEPTH = 10;
const MAX_SCRIPT_DEPTH = 10;

export class Collector {
  readonly issues: PipelineIssue[] = [];
  constructor(private readonly loaded: LoadedConfig) {}

  /** Reports `message` at `path` (top-level key first, then the keys below it). */
  add(code: PipelineIssueCode, path: readonly (string | number)[], message: string, displayPath?: string): void {
    const top = String(path[0] ?? '');
    const parsed = this.loaded.origin.get(top) ?? this.loaded.main;
    let position = parsed.locate(path);
    if (!position && path.length > 0) position = parsed.locate([top]);
    const issue: PipelineIssue = {
      code,
      file: parsed.file,
      path: displayPath ?? gitlabPath(path),
      message,
    };
    if (position) {
      issue.line = position.line;
      issue.column = position.column;
    }
    this.issues.push(issue);
  }
}

/** `jobs:build:script`, `variables`, `workflow:rules:0`: GitLab's way of naming a config entry. */
function gitlabPath(path: readonly (string | number)[]): string {
  const [top, ...rest] = path;
  if (top === undefined) return 'root';
  const head = GLOBAL_KEYS.has(String(top)) ? String(top) : `jobs:${String(top)}`;
  return [head, ...rest.map(String)].join(':');
}

export type NormalizeResult = { ok: true; config: NormalizedConfig } | { ok: false; issues: PipelineIssue[] };

/** extends → !reference → default/inherit → typed jobs, collecting every issue. */
export function normalizeConfig(loaded: LoadedConfig): NormalizeResult {
  const issues = new Collector(loaded);
  const extended = resolveExtends(loaded.config, issues);
  const resolved = resolveReferences(extended, extended, issues, [], 0) as Plain;
  // A missing extends parent or !reference makes every later message about the same job misleading.
  if (issues.issues.length > 0) return { ok: false, issues: issues.issues };

  const defaults: Plain = {};
  for (const key of ['image', 'services', 'before_script', 'after_script', 'cache'] as const) {
    if (key in resolved) defaults[key] = resolved[key];
  }
  if ('default' in resolved) {
    if (!isPlainObject(resolved.default)) issues.add('PIPELINE_KEY_INVALID', ['default'], 'config should be a hash');
    else {
      for (const [key, value] of Object.entries(resolved.default)) {
        if (!(DEFAULT_KEYS as readonly string[]).includes(key)) {
          issues.add(
            'PIPELINE_KEY_UNKNOWN',
            ['default', key],
            `unknown key \`${key}\` (default accepts ${DEFAULT_KEYS.join(', ')})`,
            'default',
          );
        } else defaults[key] = value;
      }
    }
  }

  let stages: string[] = [...DEFAULT_STAGES];
  const stagesKey = 'stages' in resolved ? 'stages' : 'types' in resolved ? 'types' : undefined;
  if (stagesKey) {
    const list = stringList(resolved[stagesKey], issues, [stagesKey], 'config should be an array of strings');
    if (list) stages = list;
  }
  stages = ['.pre', ...stages.filter((s) => s !== '.pre' && s !== '.post'), '.post'];

  const variables = 'variables' in resolved ? parseVariables(resolved.variables, issues, ['variables']) : [];
  const workflow = parseWorkflow(resolved.workflow, issues);

  const jobs: JobConfig[] = [];
  for (const [name, raw] of Object.entries(resolved)) {
    if (GLOBAL_KEYS.has(name) || name.startsWith('.')) continue;
    if (!isPlainObject(raw)) {
      issues.add('PIPELINE_KEY_INVALID', [name], 'config should be a hash');
      continue;
    }
    const job = parseJob(name, raw, defaults, issues, loaded);
    if (job) jobs.push(job);
  }
  if (issues.issues.length > 0) return { ok: false, issues: issues.issues };
  return { ok: true, config: { stages, variables, workflow, jobs } };
}

function resolveExtends(config: Plain, issues: Collector): Plain {
  const done = new Map<string, Plain>();
  const resolve = (name: string, chain: string[]): Plain => {
    const cached = done.get(name);
    if (cached) return cached;
    const raw = config[name];
    if (!isPlainObject(raw)) return {};
    if (!('extends' in raw)) {
      done.set(name, raw);
      return raw;
    }
    const parents = Array.isArray(raw.extends) ? raw.extends : [raw.extends];
    let merged: Plain = {};
    for (const parent of parents) {
      if (typeof parent !== 'string') {
        issues.add('PIPELINE_KEY_INVALID', [name, 'extends'], 'should be a string or an array of strings');
        continue;
      }
      if (chain.includes(parent)) {
        issues.add(
          'PIPELINE_EXTENDS_CYCLE',
          [name, 'extends'],
          `circular dependency detected in \`extends\` (${[...chain, parent].join(' → ')})`,
        );
        continue;
      }
      if (chain.length >= MAX_EXTENDS_DEPTH) {
        issues.add(
          'PIPELINE_EXTENDS_CYCLE',
          [name, 'extends'],
          `nesting too deep in \`extends\` (more than ${MAX_EXTENDS_DEPTH} levels)`,
        );
        continue;
      }
      if (!isPlainObject(config[parent])) {
        issues.add('PIPELINE_EXTENDS_UNKNOWN', [name, 'extends'], `unknown key in \`extends\`: ${parent}`);
        continue;
      }
      merged = deepMerge(merged, resolve(parent, [...chain, parent])) as Plain;
    }
    const own: Plain = { ...raw };
    delete own.extends;
    const result = deepMerge(merged, own) as Plain;
    delete result.extends;
    done.set(name, result);
    return result;
  };
  const result: Plain = {};
  for (const [key, value] of Object.entries(config)) {
    result[key] = isPlainObject(value) && !GLOBAL_KEYS.has(key) ? resolve(key, [key]) : value;
  }
  return result;
}

function resolveReferences(
  value: unknown,
  root: Plain,
  issues: Collector,
  path: (string | number)[],
  depth: number,
): unknown {
  if (value instanceof YamlReference) {
    const [top] = path;
    if (depth >= MAX_REFERENCE_DEPTH) {
      issues.add(
        'PIPELINE_REFERENCE_UNKNOWN',
        path,
        `too many nested !reference tags (more than ${MAX_REFERENCE_DEPTH})`,
      );
      return null;
    }
    let target: unknown = root;
    for (const segment of value.path) {
      target = isPlainObject(target) ? target[segment] : undefined;
    }
    if (target === undefined) {
      issues.add(
        'PIPELINE_REFERENCE_UNKNOWN',
        top === undefined ? [] : path,
        `!reference [${value.path.join(', ')}] could not be found`,
      );
      return null;
    }
    return resolveReferences(target, root, issues, path, depth + 1);
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveReferences(item, root, issues, [...path, i], depth));
  if (isPlainObject(value)) {
    const out: Plain = {};
    for (const [key, item] of Object.entries(value))
      out[key] = resolveReferences(item, root, issues, [...path, key], depth);
    return out;
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isPlainObject(value)) return 'a hash';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function stringList(
  value: unknown,
  issues: Collector,
  path: (string | number)[],
  message: string,
): string[] | undefined {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
    issues.add('PIPELINE_KEY_INVALID', path, `${message}, got ${describe(value)}`);
    return undefined;
  }
  return list as string[];
}

function scalarString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function parseScript(value: unknown, issues: Collector, path: (string | number)[]): string[] {
  const out: string[] = [];
  const walk = (item: unknown, depth: number): boolean => {
    if (typeof item === 'string') {
      out.push(item);
      return true;
    }
    if (Array.isArray(item) && depth < MAX_SCRIPT_DEPTH) return item.every((child) => walk(child, depth + 1));
    return false;
  };
  if (!walk(value, 0)) {
    issues.add(
      'PIPELINE_KEY_INVALID',
      path,
      `config should be a string or a nested array of strings up to ${MAX_SCRIPT_DEPTH} levels deep, got ${describe(value)}`,
    );
  }
  return out;
}

export function parseVariables(value: unknown, issues: Collector, path: (string | number)[]): YamlVariable[] {
  if (value === null || value === undefined) return [];
  if (!isPlainObject(value)) {
    issues.add('PIPELINE_KEY_INVALID', path, `config should be a hash of key value pairs, got ${describe(value)}`);
    return [];
  }
  const out: YamlVariable[] = [];
  for (const [key, raw] of Object.entries(value)) {
    const simple = raw === null ? '' : scalarString(raw);
    if (simple !== undefined) {
      out.push({ key, value: simple, expand: true });
      continue;
    }
    if (isPlainObject(raw)) {
      const unknown = Object.keys(raw).filter((k) => !['value', 'description', 'expand', 'options'].includes(k));
      const itemValue = raw.value === undefined || raw.value === null ? '' : scalarString(raw.value);
      if (
        unknown.length > 0 ||
        itemValue === undefined ||
        (raw.expand !== undefined && typeof raw.expand !== 'boolean')
      ) {
        issues.add(
          'PIPELINE_KEY_INVALID',
          [...path, key],
          unknown.length > 0
            ? `unknown keys ${unknown.join(', ')} (a variable accepts value, description, expand, options)`
            : 'variable value should be a string, a number or a boolean, and expand a boolean',
        );
        continue;
      }
      const variable: YamlVariable = { key, value: itemValue, expand: raw.expand !== false };
      if (typeof raw.description === 'string') variable.description = raw.description;
      out.push(variable);
      continue;
    }
    issues.add('PIPELINE_KEY_INVALID', [...path, key], `variable value should be a string, got ${describe(raw)}`);
  }
  return out;
}

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  issues: Collector,
  path: (string | number)[],
): T | undefined {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  issues.add(
    'PIPELINE_KEY_INVALID',
    path,
    `expected ${allowed.map((a) => `"${a}"`).join(' | ')}, got ${describe(value)}`,
  );
  return undefined;
}

function parseBool(value: unknown, issues: Collector, path: (string | number)[]): boolean | undefined {
  if (typeof value === 'boolean') return value;
  issues.add('PIPELINE_KEY_INVALID', path, `should be a boolean, got ${describe(value)}`);
  return undefined;
}

function intList(value: unknown): number[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  return list.every((n) => Number.isInteger(n)) ? (list as number[]) : undefined;
}

function parseAllowFailure(value: unknown, issues: Collector, path: (string | number)[]): AllowFailure | undefined {
  if (typeof value === 'boolean') return value;
  if (isPlainObject(value) && 'exit_codes' in value) {
    const codes = intList(value.exit_codes);
    if (codes) return { exitCodes: codes };
  }
  issues.add(
    'PIPELINE_KEY_INVALID',
    path,
    `should be a boolean or a hash with exit_codes (integer or array of integers), got ${describe(value)}`,
  );
  return undefined;
}

function parseImage(value: unknown, issues: Collector, path: (string | number)[]): ImageConfig | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string')
    return { name: value, entrypoint: null, ports: [], pullPolicy: null, executorOpts: {} };
  if (!isPlainObject(value) || typeof value.name !== 'string') {
    issues.add('PIPELINE_KEY_INVALID', path, `config should be a string or a hash with a name, got ${describe(value)}`);
    return null;
  }
  const allowed = ['name', 'entrypoint', 'pull_policy', 'docker', 'kubernetes', 'ports'];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      issues.add(
        'PIPELINE_KEY_UNKNOWN',
        [...path, key],
        `unknown key \`${key}\` (image accepts ${allowed.join(', ')})`,
      );
  }
  return imageCommon(value, issues, path);
}

function imageCommon(value: Plain, issues: Collector, path: (string | number)[]): ImageConfig {
  const image: ImageConfig = {
    name: String(value.name),
    entrypoint: null,
    ports: [],
    pullPolicy: null,
    executorOpts: {},
  };
  if (value.entrypoint !== undefined && value.entrypoint !== null) {
    image.entrypoint =
      stringList(value.entrypoint, issues, [...path, 'entrypoint'], 'should be an array of strings') ?? null;
  }
  if (value.pull_policy !== undefined && value.pull_policy !== null) {
    const list = stringList(
      value.pull_policy,
      issues,
      [...path, 'pull_policy'],
      'should be a string or an array of strings',
    );
    if (list) {
      for (const policy of list) {
        if (!['always', 'if-not-present', 'never'].includes(policy)) {
          issues.add(
            'PIPELINE_KEY_INVALID',
            [...path, 'pull_policy'],
            `expected "always" | "if-not-present" | "never", got "${policy}"`,
          );
        }
      }
      image.pullPolicy = list;
    }
  }
  for (const executor of ['docker', 'kubernetes'] as const) {
    const opts = value[executor];
    if (opts === undefined) continue;
    if (!isPlainObject(opts)) {
      issues.add('PIPELINE_KEY_INVALID', [...path, executor], 'should be a hash');
      continue;
    }
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries(opts)) {
      const s = scalarString(v);
      if (s !== undefined) out[key] = s;
    }
    image.executorOpts[executor] = out;
  }
  if (Array.isArray(value.ports)) {
    image.ports = value.ports.flatMap((port): ImagePort[] => {
      if (typeof port === 'number') return [{ number: port, protocol: 'http', name: null }];
      if (isPlainObject(port) && typeof port.number === 'number') {
        return [
          {
            number: port.number,
            protocol: port.protocol === 'https' ? 'https' : 'http',
            name: typeof port.name === 'string' ? port.name : null,
          },
        ];
      }
      issues.add(
        'PIPELINE_KEY_INVALID',
        [...path, 'ports'],
        `port should be a number or a hash with number, got ${describe(port)}`,
      );
      return [];
    });
  }
  return image;
}

function parseServices(value: unknown, issues: Collector, path: (string | number)[]): ServiceConfig[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.add('PIPELINE_KEY_INVALID', path, `config should be an array of strings or hashes, got ${describe(value)}`);
    return [];
  }
  const out: ServiceConfig[] = [];
  value.forEach((entry, index) => {
    const at = [...path, index];
    if (typeof entry === 'string') {
      out.push({
        name: entry,
        entrypoint: null,
        ports: [],
        pullPolicy: null,
        executorOpts: {},
        alias: null,
        command: null,
        variables: [],
      });
      return;
    }
    if (!isPlainObject(entry) || typeof entry.name !== 'string') {
      issues.add(
        'PIPELINE_KEY_INVALID',
        at,
        `service should be a string or a hash with a name, got ${describe(entry)}`,
      );
      return;
    }
    const allowed = [
      'name',
      'entrypoint',
      'command',
      'alias',
      'variables',
      'pull_policy',
      'docker',
      'kubernetes',
      'ports',
    ];
    for (const key of Object.keys(entry)) {
      if (!allowed.includes(key))
        issues.add(
          'PIPELINE_KEY_UNKNOWN',
          [...at, key],
          `unknown key \`${key}\` (a service accepts ${allowed.join(', ')})`,
        );
    }
    const service: ServiceConfig = { ...imageCommon(entry, issues, at), alias: null, command: null, variables: [] };
    if (typeof entry.alias === 'string') service.alias = entry.alias;
    if (entry.command !== undefined && entry.command !== null) {
      service.command = stringList(entry.command, issues, [...at, 'command'], 'should be an array of strings') ?? null;
    }
    if (entry.variables !== undefined) {
      service.variables = parseVariables(entry.variables, issues, [...at, 'variables']).map(({ key, value }) => ({
        key,
        value,
      }));
    }
    out.push(service);
  });
  return out;
}

function parseArtifacts(value: unknown, issues: Collector, path: (string | number)[]): ArtifactsConfig | null {
  if (value === null || value === undefined) return null;
  if (!isPlainObject(value)) {
    issues.add('PIPELINE_KEY_INVALID', path, `config should be a hash, got ${describe(value)}`);
    return null;
  }
  const allowed = [
    'name',
    'untracked',
    'paths',
    'exclude',
    'when',
    'expire_in',
    'reports',
    'expose_as',
    'public',
    'access',
  ];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      issues.add(
        'PIPELINE_KEY_UNKNOWN',
        [...path, key],
        `unknown key \`${key}\` (artifacts accepts ${allowed.join(', ')})`,
      );
  }
  const artifacts: ArtifactsConfig = {
    paths: [],
    exclude: [],
    untracked: false,
    when: 'on_success',
    expireIn: null,
    reports: {},
  };
  if (value.name !== undefined) {
    const name = scalarString(value.name);
    if (name === undefined) issues.add('PIPELINE_KEY_INVALID', [...path, 'name'], 'should be a string');
    else artifacts.name = name;
  }
  if (value.paths !== undefined)
    artifacts.paths = stringList(value.paths, issues, [...path, 'paths'], 'should be an array of strings') ?? [];
  if (value.exclude !== undefined)
    artifacts.exclude = stringList(value.exclude, issues, [...path, 'exclude'], 'should be an array of strings') ?? [];
  if (value.untracked !== undefined)
    artifacts.untracked = parseBool(value.untracked, issues, [...path, 'untracked']) ?? false;
  if (value.when !== undefined)
    artifacts.when = oneOf(value.when, RESULT_WHEN, issues, [...path, 'when']) ?? 'on_success';
  if (value.expire_in !== undefined && value.expire_in !== null) {
    const text = scalarString(value.expire_in);
    if (text === undefined || (text !== 'never' && parseDuration(text) === undefined)) {
      issues.add(
        'PIPELINE_KEY_INVALID',
        [...path, 'expire_in'],
        `should be a duration (e.g. "1 week") or "never", got ${describe(value.expire_in)}`,
      );
    } else artifacts.expireIn = text;
  }
  if (value.reports !== undefined) {
    if (!isPlainObject(value.reports)) issues.add('PIPELINE_KEY_INVALID', [...path, 'reports'], 'should be a hash');
    else {
      for (const [type, report] of Object.entries(value.reports)) {
        if (type === 'coverage_report' && isPlainObject(report) && typeof report.path === 'string') {
          artifacts.reports[type] = [report.path];
          continue;
        }
        const list = stringList(
          report,
          issues,
          [...path, 'reports', type],
          'should be a string or an array of strings',
        );
        if (list) artifacts.reports[type] = list;
      }
    }
  }
  return artifacts;
}

function parseCache(value: unknown, issues: Collector, path: (string | number)[]): CacheConfig[] {
  if (value === null || value === undefined) return [];
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length > 4)
    issues.add('PIPELINE_KEY_INVALID', path, `no more than 4 caches can be created (got ${entries.length})`);
  const out: CacheConfig[] = [];
  entries.forEach((entry, index) => {
    const at = Array.isArray(value) ? [...path, index] : path;
    if (!isPlainObject(entry)) {
      issues.add('PIPELINE_KEY_INVALID', at, `config should be a hash, got ${describe(entry)}`);
      return;
    }
    const allowed = ['key', 'paths', 'untracked', 'policy', 'when', 'fallback_keys', 'unprotect'];
    for (const key of Object.keys(entry)) {
      if (!allowed.includes(key))
        issues.add(
          'PIPELINE_KEY_UNKNOWN',
          [...at, key],
          `unknown key \`${key}\` (cache accepts ${allowed.join(', ')})`,
        );
    }
    const cache: CacheConfig = {
      key: 'default',
      paths: [],
      untracked: false,
      policy: 'pull-push',
      when: 'on_success',
      fallbackKeys: [],
      unprotect: false,
    };
    if (entry.key !== undefined) {
      const literal = scalarString(entry.key);
      if (literal !== undefined) {
        if (literal === '.' || literal === '%2E' || literal.includes('/') || literal.toLowerCase().includes('%2f')) {
          issues.add('PIPELINE_KEY_INVALID', [...at, 'key'], 'cache key cannot contain the "/" character or be "."');
        }
        cache.key = literal;
      } else if (isPlainObject(entry.key)) {
        const files =
          entry.key.files === undefined && entry.key.files_commits !== undefined
            ? undefined
            : stringList(
                entry.key.files,
                issues,
                [...at, 'key', 'files'],
                'should be an array of one or two file paths',
              );
        if (files && (files.length < 1 || files.length > 2)) {
          issues.add(
            'PIPELINE_KEY_INVALID',
            [...at, 'key', 'files'],
            `should list one or two files, got ${files.length}`,
          );
        }
        cache.key = { files: files ?? [] };
        if (entry.key.files_commits !== undefined) {
          const commits = stringList(
            entry.key.files_commits,
            issues,
            [...at, 'key', 'files_commits'],
            'should be an array of one or two file paths',
          );
          if (commits && (commits.length < 1 || commits.length > 2)) {
            issues.add(
              'PIPELINE_KEY_INVALID',
              [...at, 'key', 'files_commits'],
              `should list one or two files, got ${commits.length}`,
            );
          }
          if (files && entry.key.files !== undefined) {
            issues.add('PIPELINE_KEY_INVALID', [...at, 'key'], 'files and files_commits cannot be used together');
          }
          cache.key.filesCommits = commits ?? [];
        }
        if (typeof entry.key.prefix === 'string') cache.key.prefix = entry.key.prefix;
      } else
        issues.add(
          'PIPELINE_KEY_INVALID',
          [...at, 'key'],
          `should be a string or a hash with files, got ${describe(entry.key)}`,
        );
    }
    if (entry.paths !== undefined)
      cache.paths = stringList(entry.paths, issues, [...at, 'paths'], 'should be an array of strings') ?? [];
    if (entry.untracked !== undefined)
      cache.untracked = parseBool(entry.untracked, issues, [...at, 'untracked']) ?? false;
    if (entry.unprotect !== undefined)
      cache.unprotect = parseBool(entry.unprotect, issues, [...at, 'unprotect']) ?? false;
    if (entry.policy !== undefined)
      cache.policy =
        oneOf(entry.policy, ['pull-push', 'pull', 'push'] as const, issues, [...at, 'policy']) ?? 'pull-push';
    if (entry.when !== undefined) cache.when = oneOf(entry.when, RESULT_WHEN, issues, [...at, 'when']) ?? 'on_success';
    if (entry.fallback_keys !== undefined) {
      cache.fallbackKeys =
        stringList(entry.fallback_keys, issues, [...at, 'fallback_keys'], 'should be an array of strings') ?? [];
    }
    out.push(cache);
  });
  return out;
}

function parseRetry(value: unknown, issues: Collector, path: (string | number)[]): RetryConfig {
  const retry: RetryConfig = { max: 0, when: ['always'], exitCodes: [] };
  if (value === undefined || value === null) return retry;
  const checkMax = (max: unknown, at: (string | number)[]) => {
    if (!Number.isInteger(max) || (max as number) < 0 || (max as number) > 2) {
      issues.add('PIPELINE_KEY_INVALID', at, `should be 0, 1 or 2, got ${describe(max)}`);
      return 0;
    }
    return max as number;
  };
  if (typeof value === 'number') {
    retry.max = checkMax(value, path);
    return retry;
  }
  if (!isPlainObject(value)) {
    issues.add('PIPELINE_KEY_INVALID', path, `should be an integer or a hash, got ${describe(value)}`);
    return retry;
  }
  for (const key of Object.keys(value)) {
    if (!['max', 'when', 'exit_codes'].includes(key))
      issues.add(
        'PIPELINE_KEY_UNKNOWN',
        [...path, key],
        `unknown key \`${key}\` (retry accepts max, when, exit_codes)`,
      );
  }
  if (value.max !== undefined) retry.max = checkMax(value.max, [...path, 'max']);
  if (value.when !== undefined) {
    const when = stringList(value.when, issues, [...path, 'when'], 'should be a string or an array of strings');
    if (when) {
      for (const reason of when) {
        if (!RETRY_WHEN.has(reason))
          issues.add('PIPELINE_KEY_INVALID', [...path, 'when'], `unknown failure reason "${reason}"`);
      }
      retry.when = when;
    }
  }
  if (value.exit_codes !== undefined) {
    const codes = intList(value.exit_codes);
    if (!codes)
      issues.add('PIPELINE_KEY_INVALID', [...path, 'exit_codes'], 'should be an integer or an array of integers');
    else retry.exitCodes = codes;
  }
  return retry;
}

function parseMatrix(
  value: unknown,
  issues: Collector,
  path: (string | number)[],
): Record<string, string[]>[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    issues.add(
      'PIPELINE_PARALLEL_INVALID',
      path,
      `matrix should be a non-empty array of hashes, got ${describe(value)}`,
    );
    return undefined;
  }
  const out: Record<string, string[]>[] = [];
  for (const [index, entry] of value.entries()) {
    if (!isPlainObject(entry)) {
      issues.add(
        'PIPELINE_PARALLEL_INVALID',
        [...path, index],
        `matrix entry should be a hash, got ${describe(entry)}`,
      );
      continue;
    }
    const row: Record<string, string[]> = {};
    for (const [key, raw] of Object.entries(entry)) {
      const values = (Array.isArray(raw) ? raw : [raw]).map(scalarString);
      if (values.some((v) => v === undefined) || values.length === 0) {
        issues.add(
          'PIPELINE_PARALLEL_INVALID',
          [...path, index, key],
          'matrix values should be strings or arrays of strings',
        );
        continue;
      }
      row[key] = values as string[];
    }
    out.push(row);
  }
  return out;
}

function parseParallel(value: unknown, issues: Collector, path: (string | number)[]): ParallelConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 200) {
      issues.add('PIPELINE_PARALLEL_INVALID', path, `should be an integer from 1 to 200, got ${value}`);
      return undefined;
    }
    return { count: value };
  }
  if (isPlainObject(value) && 'matrix' in value) {
    const matrix = parseMatrix(value.matrix, issues, [...path, 'matrix']);
    if (!matrix) return undefined;
    const total = matrix.reduce((sum, row) => sum + Object.values(row).reduce((n, values) => n * values.length, 1), 0);
    if (total > 200)
      issues.add('PIPELINE_PARALLEL_INVALID', [...path, 'matrix'], `generates ${total} jobs; at most 200 are allowed`);
    return { matrix };
  }
  issues.add('PIPELINE_PARALLEL_INVALID', path, `should be an integer or a hash with matrix, got ${describe(value)}`);
  return undefined;
}

function parseNeeds(value: unknown, issues: Collector, path: (string | number)[]): NeedConfig[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Array.isArray(value)) {
    issues.add(
      'PIPELINE_NEEDS_INVALID',
      path,
      `config should be an array of strings or hashes, got ${describe(value)}`,
    );
    return undefined;
  }
  const out: NeedConfig[] = [];
  value.forEach((entry, index) => {
    const at = [...path, index];
    if (typeof entry === 'string') {
      out.push({ job: entry, artifacts: true, optional: false });
      return;
    }
    if (isPlainObject(entry) && ('pipeline' in entry || 'project' in entry)) {
      issues.add(
        'PIPELINE_NEEDS_INVALID',
        at,
        'needs:pipeline and needs:project refer to other pipelines, which cannot be fetched offline',
      );
      return;
    }
    if (!isPlainObject(entry) || typeof entry.job !== 'string') {
      issues.add('PIPELINE_NEEDS_INVALID', at, `need should be a job name or a hash with job, got ${describe(entry)}`);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!['job', 'artifacts', 'optional', 'parallel'].includes(key)) {
        issues.add(
          'PIPELINE_KEY_UNKNOWN',
          [...at, key],
          `unknown key \`${key}\` (a need accepts job, artifacts, optional, parallel)`,
        );
      }
    }
    const need: NeedConfig = { job: entry.job, artifacts: true, optional: false };
    if (entry.artifacts !== undefined)
      need.artifacts = parseBool(entry.artifacts, issues, [...at, 'artifacts']) ?? true;
    if (entry.optional !== undefined) need.optional = parseBool(entry.optional, issues, [...at, 'optional']) ?? false;
    if (entry.parallel !== undefined) {
      if (!isPlainObject(entry.parallel))
        issues.add('PIPELINE_NEEDS_INVALID', [...at, 'parallel'], 'should be a hash with matrix');
      else {
        const matrix = parseMatrix(entry.parallel.matrix, issues, [...at, 'parallel', 'matrix']);
        if (matrix) need.matrix = matrix;
      }
    }
    out.push(need);
  });
  if (out.length > 50)
    issues.add('PIPELINE_NEEDS_INVALID', path, `no more than 50 needs are allowed (got ${out.length})`);
  return out;
}

function parseChanges(
  value: unknown,
  issues: Collector,
  path: (string | number)[],
): { paths: string[]; compareTo?: string } | undefined {
  if (isPlainObject(value)) {
    const paths = stringList(value.paths, issues, [...path, 'paths'], 'should be an array of strings');
    if (!paths) return undefined;
    return typeof value.compare_to === 'string' ? { paths, compareTo: value.compare_to } : { paths };
  }
  const paths = stringList(value, issues, path, 'should be an array of strings or a hash with paths');
  return paths ? { paths } : undefined;
}

export function parseRules(
  value: unknown,
  issues: Collector,
  path: (string | number)[],
  allowedKeys = RULE_KEYS,
): RuleConfig[] {
  if (!Array.isArray(value)) {
    issues.add('PIPELINE_KEY_INVALID', path, `config should be an array of hashes, got ${describe(value)}`);
    return [];
  }
  // `- !reference [.rules, rules]` inserts an array: GitLab flattens it into the list.
  const out: RuleConfig[] = [];
  value.flat(10).forEach((entry, index) => {
    const at = [...path, index];
    if (!isPlainObject(entry)) {
      issues.add('PIPELINE_KEY_INVALID', at, `rule should be a hash, got ${describe(entry)}`);
      return;
    }
    const rule: RuleConfig = {};
    for (const [key, raw] of Object.entries(entry)) {
      if (!allowedKeys.has(key)) {
        issues.add(
          'PIPELINE_KEY_UNKNOWN',
          [...at, key],
          `unknown key \`${key}\` (a rule accepts ${[...allowedKeys].join(', ')})`,
        );
        continue;
      }
      switch (key) {
        case 'if':
          if (typeof raw !== 'string') issues.add('PIPELINE_KEY_INVALID', [...at, key], 'should be a string');
          else rule.if = raw;
          break;
        case 'changes': {
          const changes = parseChanges(raw, issues, [...at, key]);
          if (changes) rule.changes = changes;
          break;
        }
        case 'exists': {
          const list = isPlainObject(raw) ? raw.paths : raw;
          const exists = stringList(list, issues, [...at, key], 'should be an array of strings or a hash with paths');
          if (exists) rule.exists = exists;
          break;
        }
        case 'when': {
          const when = oneOf(raw, RULE_WHEN, issues, [...at, key]);
          if (when) rule.when = when;
          break;
        }
        case 'start_in':
          if (typeof raw !== 'string' || parseDuration(raw) === undefined)
            issues.add('PIPELINE_KEY_INVALID', [...at, key], 'should be a duration');
          else rule.startIn = raw;
          break;
        case 'allow_failure': {
          const allow = parseAllowFailure(raw, issues, [...at, key]);
          if (allow !== undefined) rule.allowFailure = allow;
          break;
        }
        case 'variables':
          rule.variables = parseVariables(raw, issues, [...at, key]);
          break;
        case 'needs': {
          const needs = parseNeeds(raw, issues, [...at, key]);
          if (needs) rule.needs = needs;
          break;
        }
        case 'interruptible': {
          const b = parseBool(raw, issues, [...at, key]);
          if (b !== undefined) rule.interruptible = b;
          break;
        }
      }
    }
    out.push(rule);
  });
  return out;
}

function parseOnlyExcept(value: unknown, issues: Collector, path: (string | number)[]): OnlyExceptConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || Array.isArray(value)) {
    const refs = stringList(value, issues, path, 'should be an array of strings or a hash');
    return refs ? { refs, variables: [], changes: [] } : undefined;
  }
  if (!isPlainObject(value)) {
    issues.add('PIPELINE_KEY_INVALID', path, `should be an array of strings or a hash, got ${describe(value)}`);
    return undefined;
  }
  const out: OnlyExceptConfig = { refs: [], variables: [], changes: [] };
  for (const [key, raw] of Object.entries(value)) {
    if (key === 'refs' || key === 'variables' || key === 'changes') {
      const list = stringList(
        isPlainObject(raw) && key === 'changes' ? raw.paths : raw,
        issues,
        [...path, key],
        'should be an array of strings',
      );
      if (list) out[key] = list;
    } else if (key !== 'kubernetes') {
      issues.add(
        'PIPELINE_KEY_UNKNOWN',
        [...path, key],
        `unknown key \`${key}\` (only/except accept refs, variables, changes, kubernetes)`,
      );
    }
  }
  return out;
}

function parseWorkflow(value: unknown, issues: Collector): WorkflowConfig {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    issues.add('PIPELINE_KEY_INVALID', ['workflow'], `config should be a hash, got ${describe(value)}`);
    return {};
  }
  const workflow: WorkflowConfig = {};
  for (const [key, raw] of Object.entries(value)) {
    if (key === 'name') {
      if (typeof raw === 'string') workflow.name = raw;
      else issues.add('PIPELINE_KEY_INVALID', ['workflow', 'name'], 'should be a string');
    } else if (key === 'rules') {
      workflow.rules = parseRules(
        raw,
        issues,
        ['workflow', 'rules'],
        new Set(['if', 'changes', 'exists', 'when', 'variables', 'auto_cancel']),
      );
    } else if (key !== 'auto_cancel') {
      issues.add(
        'PIPELINE_KEY_UNKNOWN',
        ['workflow', key],
        `unknown key \`${key}\` (workflow accepts name, rules, auto_cancel)`,
      );
    }
  }
  return workflow;
}

function parseJob(
  name: string,
  raw: Plain,
  defaults: Plain,
  issues: Collector,
  loaded: LoadedConfig,
): JobConfig | undefined {
  const at = (key: string): (string | number)[] => [name, key];
  const before = issues.issues.length;
  for (const key of Object.keys(raw)) {
    if (!JOB_KEYS.has(key))
      issues.add('PIPELINE_KEY_UNKNOWN', at(key), `unknown key \`${key}\` in job config`, `jobs:${name}`);
  }
  if (name.length > 255) issues.add('PIPELINE_KEY_INVALID', [name], 'job name is too long (maximum is 255 characters)');
  if ('trigger' in raw || 'run' in raw) {
    issues.add(
      'PIPELINE_KEY_INVALID',
      at('trigger' in raw ? 'trigger' : 'run'),
      `${'trigger' in raw ? 'trigger' : 'run'} jobs are not supported by runnerkit`,
    );
    return undefined;
  }
  if (!('script' in raw)) {
    issues.add('PIPELINE_SCRIPT_MISSING', [name], 'config should implement the script:, run:, or trigger: keyword');
    return undefined;
  }

  // inherit: default and variables.
  let inheritDefault: boolean | string[] = true;
  let inheritVariables: boolean | string[] = true;
  if (raw.inherit !== undefined) {
    if (!isPlainObject(raw.inherit)) issues.add('PIPELINE_KEY_INVALID', at('inherit'), 'should be a hash');
    else {
      for (const [key, value] of Object.entries(raw.inherit)) {
        const parsed =
          typeof value === 'boolean'
            ? value
            : stringList(value, issues, [name, 'inherit', key], 'should be a boolean or an array of strings');
        if (parsed === undefined) continue;
        if (key === 'default') inheritDefault = parsed;
        else if (key === 'variables') inheritVariables = parsed;
        else
          issues.add(
            'PIPELINE_KEY_UNKNOWN',
            [name, 'inherit', key],
            `unknown key \`${key}\` (inherit accepts default, variables)`,
          );
      }
    }
  }
  const pick = (key: string): unknown => {
    if (key in raw) return raw[key];
    const inherited = inheritDefault === true || (Array.isArray(inheritDefault) && inheritDefault.includes(key));
    return inherited ? defaults[key] : undefined;
  };
  // Defaults are reported at their own keys when they are invalid.
  const pathOf = (key: string): (string | number)[] =>
    key in raw ? at(key) : 'default' in loaded.config ? ['default', key] : [key];

  const job: JobConfig = {
    name,
    position: { file: (loaded.origin.get(name) ?? loaded.main).file },
    stage: 'test',
    image: parseImage(pick('image'), issues, pathOf('image')),
    services: parseServices(pick('services'), issues, pathOf('services')),
    beforeScript:
      pick('before_script') === undefined ? [] : parseScript(pick('before_script'), issues, pathOf('before_script')),
    script: parseScript(raw.script, issues, at('script')),
    afterScript:
      pick('after_script') === undefined ? [] : parseScript(pick('after_script'), issues, pathOf('after_script')),
    variables: raw.variables === undefined ? [] : parseVariables(raw.variables, issues, at('variables')),
    inheritVariables,
    when: 'on_success',
    artifacts: parseArtifacts(pick('artifacts'), issues, pathOf('artifacts')),
    cache: parseCache(pick('cache'), issues, pathOf('cache')),
    retry: parseRetry(pick('retry'), issues, pathOf('retry')),
    tags:
      pick('tags') === undefined
        ? []
        : (stringList(pick('tags'), issues, pathOf('tags'), 'should be an array of strings') ?? []),
    interruptible: false,
    hooks: {},
  };
  const line = (loaded.origin.get(name) ?? loaded.main).locate([name])?.line;
  if (line !== undefined) job.position.line = line;
  if (job.script.length === 0 && Array.isArray(raw.script)) {
    issues.add('PIPELINE_SCRIPT_MISSING', at('script'), "script can't be blank");
  }
  const stage = raw.stage ?? raw.type;
  if (stage !== undefined) {
    if (typeof stage !== 'string')
      issues.add('PIPELINE_KEY_INVALID', at('stage'), `should be a string, got ${describe(stage)}`);
    else job.stage = stage;
  }
  if (raw.when !== undefined) job.when = oneOf(raw.when, JOB_WHEN, issues, at('when')) ?? 'on_success';
  if (raw.start_in !== undefined) {
    if (typeof raw.start_in !== 'string' || parseDuration(raw.start_in) === undefined) {
      issues.add('PIPELINE_KEY_INVALID', at('start_in'), `should be a duration, got ${describe(raw.start_in)}`);
    } else job.startIn = raw.start_in;
  }
  if (job.when === 'delayed' && job.startIn === undefined && !('rules' in raw)) {
    issues.add('PIPELINE_KEY_INVALID', at('when'), 'start_in should be specified for delayed job');
  }
  if (raw.allow_failure !== undefined) {
    const allow = parseAllowFailure(raw.allow_failure, issues, at('allow_failure'));
    if (allow !== undefined) job.allowFailure = allow;
  }
  if (raw.rules !== undefined) {
    if ('only' in raw || 'except' in raw)
      issues.add('PIPELINE_KEY_INVALID', at('rules'), 'rules: cannot be used with only: or except:');
    job.rules = parseRules(raw.rules, issues, at('rules'));
  }
  const only = parseOnlyExcept(raw.only, issues, at('only'));
  if (only) job.only = only;
  const except = parseOnlyExcept(raw.except, issues, at('except'));
  if (except) job.except = except;
  const needs = parseNeeds(raw.needs, issues, at('needs'));
  if (needs) job.needs = needs;
  if (raw.dependencies !== undefined && raw.dependencies !== null) {
    const deps = stringList(raw.dependencies, issues, at('dependencies'), 'should be an array of strings');
    if (deps) job.dependencies = deps;
  }
  const timeout = pick('timeout');
  if (timeout !== undefined && timeout !== null) {
    const seconds = typeof timeout === 'string' || typeof timeout === 'number' ? parseDuration(timeout) : undefined;
    if (seconds === undefined)
      issues.add(
        'PIPELINE_KEY_INVALID',
        pathOf('timeout'),
        `should be a duration (e.g. "1h 30m"), got ${describe(timeout)}`,
      );
    else job.timeout = seconds;
  }
  const parallel = parseParallel(raw.parallel, issues, at('parallel'));
  if (parallel) job.parallel = parallel;
  const interruptible = pick('interruptible');
  if (interruptible !== undefined)
    job.interruptible = parseBool(interruptible, issues, pathOf('interruptible')) ?? false;
  const hooks = pick('hooks');
  if (hooks !== undefined && hooks !== null) {
    if (!isPlainObject(hooks)) issues.add('PIPELINE_KEY_INVALID', pathOf('hooks'), 'should be a hash');
    else {
      for (const [key, value] of Object.entries(hooks)) {
        if (key === 'pre_get_sources_script')
          job.hooks.preGetSourcesScript = parseScript(value, issues, [...pathOf('hooks'), key]);
        else
          issues.add(
            'PIPELINE_KEY_UNKNOWN',
            [...pathOf('hooks'), key],
            `unknown key \`${key}\` (hooks accepts pre_get_sources_script)`,
          );
      }
    }
  }
  if (raw.environment !== undefined) {
    const env = isPlainObject(raw.environment) ? raw.environment.name : raw.environment;
    if (typeof env === 'string') job.environment = env;
  }
  if (typeof raw.coverage === 'string') job.coverage = raw.coverage;
  if (typeof raw.resource_group === 'string') job.resourceGroup = raw.resource_group;
  if (isPlainObject(raw.release)) job.release = raw.release;
  return issues.issues.length === before ? job : undefined;
}

export type { JobWhen };
