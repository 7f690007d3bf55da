import { createHash } from 'node:crypto';
import { CacheKeyError } from './errors.js';

/** The result of sanitising a key: the storage-safe key and whether sanitising changed it. */
export interface SanitizedCacheKey {
  key: string;
  changed: boolean;
}

/**
 * Sanitises a cache key as GitLab Runner does when FF_HASH_CACHE_KEYS is off: `%2f`→`/`, `%2e`→`.`, `\`→`/`,
 * `.`/`..` resolved inside a virtual root, trailing whitespace stripped from the last segments (segments that
 * become empty are dropped). Returns `undefined` when nothing is left (the caller skips the cache).
 */
export function sanitizeCacheKey(raw: string): SanitizedCacheKey | undefined {
  const replaced = raw.replace(/%2f/gi, '/').replace(/%2e/gi, '.').replace(/\\/g, '/');
  const segments: string[] = [];
  for (const segment of replaced.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  while (segments.length > 0) {
    const last = segments[segments.length - 1]!;
    const trimmed = last.trimEnd();
    if (trimmed === '') {
      segments.pop();
      continue;
    }
    segments[segments.length - 1] = trimmed;
    break;
  }
  const key = segments.join('/');
  if (key === '') return undefined;
  return { key, changed: key !== raw };
}

/** SHA-256 hex of the key: the storage name under FF_HASH_CACHE_KEYS (the trace still shows the human key). */
export function hashCacheKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export type CachePolicy = 'pull' | 'push' | 'pull-push';
export type CacheWhen = 'on_success' | 'on_failure' | 'always';

/** Parses an (already expanded) policy: empty means `pull-push`; anything unknown is a job failure. */
export function parseCachePolicy(policy: string | undefined, key: string): CachePolicy {
  const value = policy ?? '';
  if (value === '') return 'pull-push';
  if (value === 'pull' || value === 'push' || value === 'pull-push') return value;
  throw new CacheKeyError('CACHE_POLICY_UNKNOWN', `unknown cache policy ${value} for ${key}`);
}

/** Whether a cache entry's `when` applies to a job that succeeded (`true`) or failed (`false`). */
export function cacheWhenApplies(when: string | undefined, jobSucceeded: boolean): boolean {
  const value = when === undefined || when === '' ? 'on_success' : when;
  if (value === 'always') return true;
  if (value === 'on_success') return jobSucceeded;
  if (value === 'on_failure') return !jobSucceeded;
  return false;
}

/** The suffix GitLab appends to cache keys when protected and unprotected refs keep separate caches. */
export function withProtectedSuffix(key: string, protectedRef: boolean): string {
  return `${key}${protectedRef ? '-protected' : '-non_protected'}`;
}

/** `CACHE_FALLBACK_KEY` may not name a protected cache: after trimming trailing dots and spaces it must not end in `-protected`. */
export function isFallbackKeyAllowed(cacheFallbackKey: string): boolean {
  return !cacheFallbackKey.replace(/[. ]+$/, '').endsWith('-protected');
}

/** One `cache:` entry of the job payload. */
export interface CacheEntry {
  key?: string;
  untracked?: boolean;
  policy?: string;
  paths?: readonly string[];
  when?: string;
  fallback_keys?: readonly string[];
}

export interface CacheContext {
  /** Job name and git ref: the key when the payload's key is empty is `<job name>/<git ref>`. */
  jobName: string;
  gitRef: string;
  /** Expands `$VAR` references with the job's variables; identity when omitted. */
  expand?: (value: string) => string;
  /** FF_HASH_CACHE_KEYS: no sanitising, storage name = SHA-256 of the key. */
  hashKeys?: boolean;
  /** The job's `CACHE_FALLBACK_KEY` variable (unexpanded value as the job sees it). */
  cacheFallbackKey?: string;
}

/** A key to try, with the human form for the trace and the storage form for object names. */
export interface CacheKeyCandidate {
  /** What the trace shows (`Checking cache for <display>...`). */
  display: string;
  /** What object names use: sanitised, or the SHA-256 hex under FF_HASH_CACHE_KEYS. */
  storageKey: string;
}

/** A line the executor prints; `level` picks its colour. */
export interface CacheNotice {
  level: 'notice' | 'warning';
  message: string;
}

export type CacheRestorePlan =
  | { action: 'skip'; notices: CacheNotice[] }
  | { action: 'restore'; policy: CachePolicy; candidates: CacheKeyCandidate[]; notices: CacheNotice[] };

export type CacheSavePlan =
  | { action: 'skip'; notices: CacheNotice[] }
  | { action: 'save'; policy: CachePolicy; key: CacheKeyCandidate; notices: CacheNotice[] };

function identity(value: string): string {
  return value;
}

function candidateFor(raw: string, context: CacheContext, notices: CacheNotice[]): CacheKeyCandidate | undefined {
  if (context.hashKeys) return { display: raw, storageKey: hashCacheKey(raw) };
  const sanitized = sanitizeCacheKey(raw);
  if (sanitized === undefined) {
    notices.push({ level: 'notice', message: `Skipping cache extraction due to empty cache key` });
    return undefined;
  }
  if (sanitized.changed) {
    notices.push({
      level: 'warning',
      message: `cache key ${JSON.stringify(raw)} sanitized to ${JSON.stringify(sanitized.key)}`,
    });
  }
  return { display: sanitized.key, storageKey: sanitized.key };
}

/** The expanded main key of an entry: the payload key, or `<job name>/<git ref>` when it is empty. */
export function resolveCacheKey(entry: CacheEntry, context: CacheContext): string {
  const expand = context.expand ?? identity;
  const key = expand(entry.key ?? '');
  return key === '' ? `${context.jobName}/${context.gitRef}` : key;
}

function hasContent(entry: CacheEntry): boolean {
  return (entry.paths?.length ?? 0) > 0 || entry.untracked === true;
}

/**
 * What `restore_cache` does for one entry: skip (no paths, policy `push`, empty key) or try the candidate keys in
 * order — the key, each `fallback_keys` entry, then `CACHE_FALLBACK_KEY` unless it names a protected cache.
 * Throws CACHE_POLICY_UNKNOWN for an unknown policy (that fails the job).
 */
export function planCacheRestore(entry: CacheEntry, context: CacheContext): CacheRestorePlan {
  const notices: CacheNotice[] = [];
  if (!hasContent(entry)) return { action: 'skip', notices };
  const expand = context.expand ?? identity;
  const rawKey = resolveCacheKey(entry, context);
  const policy = parseCachePolicy(expand(entry.policy ?? ''), rawKey);
  if (policy === 'push') {
    notices.push({ level: 'notice', message: `Not downloading cache ${rawKey} due to policy` });
    return { action: 'skip', notices };
  }
  const candidates: CacheKeyCandidate[] = [];
  const main = candidateFor(rawKey, context, notices);
  if (main !== undefined) candidates.push(main);
  for (const fallback of entry.fallback_keys ?? []) {
    const expanded = expand(fallback);
    if (expanded === '') continue;
    const candidate = candidateFor(expanded, context, notices);
    if (candidate !== undefined) candidates.push(candidate);
  }
  const fallbackVariable = context.cacheFallbackKey ? expand(context.cacheFallbackKey) : '';
  if (fallbackVariable !== '') {
    if (isFallbackKeyAllowed(fallbackVariable)) {
      const candidate = candidateFor(fallbackVariable, context, notices);
      if (candidate !== undefined) candidates.push(candidate);
    } else {
      notices.push({
        level: 'warning',
        message: `CACHE_FALLBACK_KEY ${JSON.stringify(fallbackVariable)} not allowed to end in "-protected"`,
      });
    }
  }
  if (candidates.length === 0) return { action: 'skip', notices };
  return { action: 'restore', policy, candidates, notices };
}

/**
 * What `archive_cache` / `archive_cache_on_failure` does for one entry: skip when `when` does not match the job
 * outcome, the policy is `pull`, there is nothing to collect or the key is empty; else save under the key.
 */
export function planCacheSave(entry: CacheEntry, context: CacheContext & { jobSucceeded: boolean }): CacheSavePlan {
  const notices: CacheNotice[] = [];
  if (!hasContent(entry) || !cacheWhenApplies(entry.when, context.jobSucceeded)) return { action: 'skip', notices };
  const expand = context.expand ?? identity;
  const rawKey = resolveCacheKey(entry, context);
  const policy = parseCachePolicy(expand(entry.policy ?? ''), rawKey);
  if (policy === 'pull') {
    notices.push({ level: 'notice', message: `Not uploading cache ${rawKey} due to policy` });
    return { action: 'skip', notices };
  }
  const key = candidateFor(rawKey, context, notices);
  if (key === undefined) return { action: 'skip', notices };
  return { action: 'save', policy, key, notices };
}
