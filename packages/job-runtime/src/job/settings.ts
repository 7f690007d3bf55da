// Settings read from the variable list (job-execution §4.1 table); invalid values warn and fall back.
import type { GitStrategy, SubmoduleStrategy } from '../shell/stages.js';
import { parseGoBool } from '../variables/feature-flags.js';
import { formatGoDuration, parseGoDuration } from './identifiers.js';

export interface JobSettings {
  gitStrategy: GitStrategy;
  gitCheckout: boolean;
  gitCleanFlags: string[];
  gitFetchExtraFlags: string[];
  gitSubmoduleStrategy: SubmoduleStrategy;
  gitDepth: number;
  gitLfsSkipSmudge: boolean;
  getSourcesAttempts: number;
  artifactDownloadAttempts: number;
  restoreCacheAttempts: number;
  afterScriptIgnoreErrors: boolean;
  debugTrace: boolean;
  /** Milliseconds, undefined = job timeout. */
  scriptTimeout: number | undefined;
  afterScriptTimeout: number;
}

type Lookup = (key: string) => string | undefined;

function bool(lookup: Lookup, key: string, fallback: boolean, warnings: string[]): boolean {
  const raw = lookup(key);
  if (raw === undefined || raw === '') return fallback;
  const parsed = parseGoBool(raw);
  if (parsed === undefined) warnings.push(`${key}: expected bool got "${raw}", using default value: ${fallback}`);
  return parsed ?? fallback;
}

function attempts(lookup: Lookup, key: string, warnings: string[]): number {
  const raw = lookup(key);
  if (raw === undefined || raw === '') return 1;
  const parsed = Number.parseInt(raw, 10);
  if (!/^[-+]?\d+$/.test(raw.trim()) || Number.isNaN(parsed)) {
    warnings.push(`${key}: expected int got "${raw}", using default value: 1`);
    return 1;
  }
  if (parsed < 1 || parsed > 10) {
    const clamped = Math.min(10, Math.max(1, parsed));
    warnings.push(`${key}: number of attempts out of the range [1, 10], clamping to: ${clamped}`);
    return clamped;
  }
  return parsed;
}

function flags(lookup: Lookup, key: string, fallback: string): string[] {
  const raw = lookup(key);
  const value = raw === undefined || raw === '' ? fallback : raw;
  if (value === 'none') return [];
  return value.split(/\s+/).filter(Boolean);
}

function timeout(lookup: Lookup, key: string, jobTimeoutMs: number, warnings: string[]): number | undefined {
  const raw = lookup(key);
  if (raw === undefined || raw === '') return undefined;
  const parsed = parseGoDuration(raw);
  if (parsed === undefined) {
    warnings.push(`Ignoring malformed ${key} timeout: ${raw}`);
    return undefined;
  }
  if (parsed < 0) {
    warnings.push(`Ignoring relative ${key} timeout: ${raw}`);
    return undefined;
  }
  if (parsed > jobTimeoutMs) {
    warnings.push(`${key} timeout: ${raw} is longer than job timeout. Setting to job timeout`);
    return jobTimeoutMs;
  }
  return parsed;
}

export interface SettingsInput {
  lookup: Lookup;
  allowGitFetch: boolean;
  depth: number;
  jobTimeoutMs: number;
  debugTraceDisabled: boolean;
}

export function readSettings(input: SettingsInput, warnings: string[]): JobSettings {
  const { lookup } = input;
  const fallbackStrategy: GitStrategy = input.allowGitFetch ? 'fetch' : 'clone';
  let gitStrategy: GitStrategy = fallbackStrategy;
  const rawStrategy = lookup('GIT_STRATEGY');
  if (rawStrategy !== undefined && rawStrategy !== '') {
    if (['clone', 'fetch', 'none', 'empty'].includes(rawStrategy)) gitStrategy = rawStrategy as GitStrategy;
    else {
      warnings.push(
        `GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' got ${JSON.stringify(rawStrategy)}, using default value 'clone'`,
      );
      gitStrategy = 'clone';
    }
  }
  let gitSubmoduleStrategy: SubmoduleStrategy = 'none';
  const rawSubmodules = lookup('GIT_SUBMODULE_STRATEGY');
  if (rawSubmodules !== undefined && rawSubmodules !== '') {
    if (['none', 'normal', 'recursive'].includes(rawSubmodules))
      gitSubmoduleStrategy = rawSubmodules as SubmoduleStrategy;
    else
      warnings.push(
        `GIT_SUBMODULE_STRATEGY: expected either 'none', 'normal' or 'recursive' got ${JSON.stringify(rawSubmodules)}, using default value 'none'`,
      );
  }
  let debugTrace = bool(lookup, 'CI_DEBUG_TRACE', false, warnings);
  if (debugTrace && input.debugTraceDisabled) {
    warnings.push('CI_DEBUG_TRACE: usage is disabled on this Runner');
    debugTrace = false;
  }
  const afterScriptTimeout = timeout(lookup, 'RUNNER_AFTER_SCRIPT_TIMEOUT', input.jobTimeoutMs, warnings);
  return {
    gitStrategy,
    gitCheckout: bool(lookup, 'GIT_CHECKOUT', true, warnings),
    gitCleanFlags: flags(lookup, 'GIT_CLEAN_FLAGS', '-ffdx'),
    gitFetchExtraFlags: flags(lookup, 'GIT_FETCH_EXTRA_FLAGS', '--prune --quiet'),
    gitSubmoduleStrategy,
    gitDepth: input.depth,
    gitLfsSkipSmudge: lookup('GIT_LFS_SKIP_SMUDGE') === undefined,
    getSourcesAttempts: attempts(lookup, 'GET_SOURCES_ATTEMPTS', warnings),
    artifactDownloadAttempts: attempts(lookup, 'ARTIFACT_DOWNLOAD_ATTEMPTS', warnings),
    restoreCacheAttempts: attempts(lookup, 'RESTORE_CACHE_ATTEMPTS', warnings),
    afterScriptIgnoreErrors: bool(lookup, 'AFTER_SCRIPT_IGNORE_ERRORS', true, warnings),
    debugTrace,
    scriptTimeout: timeout(lookup, 'RUNNER_SCRIPT_TIMEOUT', input.jobTimeoutMs, warnings),
    afterScriptTimeout: afterScriptTimeout ?? 5 * 60_000,
  };
}

export { formatGoDuration };
