import { posix } from 'node:path';
import { CacheKeyError } from './errors.js';

/** Shortens a runner token as GitLab Runner does for the `runner/<short token>/` object prefix and logs. */
export function shortenRunnerToken(token: string): string {
  if (token.length < 8) return token;
  if (token.startsWith('glrt-')) return token.slice(5, 14);
  if (token.startsWith('glrtr-') || token.startsWith('glcbt-')) return token.slice(6, 15);
  if (token.startsWith('GR') && token.length >= 17 && /^[0-9a-fA-F]{7}$/.test(token.slice(2, 9)))
    return token.slice(0, 17);
  return token.slice(0, 8);
}

export interface CacheObjectNameInput {
  /** `[runners.cache] Path`: a prefix inside the bucket ("" for none). */
  path?: string;
  /** `[runners.cache] Shared`: no `runner/<short token>` segment. */
  shared?: boolean;
  /** The runner's short token (see {@link shortenRunnerToken}); required unless `shared`. */
  runnerShortToken?: string;
  projectId: number | string;
  /** The storage key: sanitised, or the SHA-256 hex under FF_HASH_CACHE_KEYS. */
  key: string;
  /** FF_HASH_CACHE_KEYS: shard by the key's first two characters (`…/project/<id>/ab/abcd…`). */
  hashed?: boolean;
}

/**
 * The distributed cache object name: `<Path>/runner/<short token>/project/<id>/<key>`, or
 * `<Path>/project/<id>/<key>` when shared. A name that escapes `…/project/<id>/` is refused.
 */
export function cacheObjectName(input: CacheObjectNameInput): string {
  if (input.key === '') throw new CacheKeyError('CACHE_OBJECT_NAME_INVALID', 'cache key is empty');
  const runnerSegment = input.shared ? '' : `runner/${input.runnerShortToken ?? ''}`;
  if (!input.shared && !input.runnerShortToken) {
    throw new CacheKeyError('CACHE_OBJECT_NAME_INVALID', 'runnerShortToken is required unless the cache is shared');
  }
  const base = posix.join(input.path ?? '', runnerSegment, 'project', String(input.projectId));
  const key = input.hashed ? `${input.key.slice(0, 2)}/${input.key}` : input.key;
  const full = posix.join(base, key);
  if (!full.startsWith(`${base}/`)) {
    throw new CacheKeyError(
      'CACHE_OBJECT_NAME_INVALID',
      'computed cache path outside of project bucket. Please remove `../` from cache key',
    );
  }
  return full.replace(/^\/+/, '');
}

/**
 * The local cache file, relative to `cache_dir`: `<project slug>/<key>/cache.zip` (GitLab Runner's layout;
 * `metadata.json` sits beside it).
 */
export function localCacheObjectName(input: { projectSlug: string; key: string }): string {
  const base = posix.normalize(input.projectSlug).replace(/^\/+/, '');
  const full = posix.join(base, input.key, 'cache.zip');
  if (base === '' || base.startsWith('..') || !full.startsWith(`${base}/`) || full === `${base}/cache.zip`) {
    throw new CacheKeyError(
      'CACHE_OBJECT_NAME_INVALID',
      `cache key ${JSON.stringify(input.key)} leaves the project cache directory`,
    );
  }
  return full;
}
