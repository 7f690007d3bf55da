import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cacheWhenApplies,
  hashCacheKey,
  isFallbackKeyAllowed,
  parseCachePolicy,
  planCacheRestore,
  planCacheSave,
  sanitizeCacheKey,
  withProtectedSuffix,
} from './keys.js';

const fixture = JSON.parse(
  readFileSync(new URL('./__fixtures__/cache-key-sanitize.json', import.meta.url), 'utf8'),
) as {
  cases: { key: string; sanitized: string | null }[];
};

describe('sanitizeCacheKey', () => {
  it.each(fixture.cases)('sanitises $key as GitLab Runner does', ({ key, sanitized }) => {
    const result = sanitizeCacheKey(key);
    expect(result?.key ?? null).toBe(sanitized);
    if (result) expect(result.changed).toBe(result.key !== key);
  });
});

describe('cache policies and when', () => {
  it('treats an empty policy as pull-push and refuses unknown ones', () => {
    expect(parseCachePolicy('', 'k')).toBe('pull-push');
    expect(parseCachePolicy('pull', 'k')).toBe('pull');
    expect(() => parseCachePolicy('sometimes', 'default-protected')).toThrowErrorMatchingInlineSnapshot(
      `[CacheKeyError: unknown cache policy sometimes for default-protected]`,
    );
  });

  it('matches when to the job outcome', () => {
    const table = ['', 'on_success', 'on_failure', 'always', 'never'].map((when) => [
      when,
      cacheWhenApplies(when, true),
      cacheWhenApplies(when, false),
    ]);
    expect(table).toEqual([
      ['', true, false],
      ['on_success', true, false],
      ['on_failure', false, true],
      ['always', true, true],
      ['never', false, false],
    ]);
  });

  it('appends the protected suffix and refuses protected CACHE_FALLBACK_KEY values', () => {
    expect(withProtectedSuffix('default', true)).toBe('default-protected');
    expect(withProtectedSuffix('default', false)).toBe('default-non_protected');
    expect(isFallbackKeyAllowed('main-protected')).toBe(false);
    expect(isFallbackKeyAllowed('main-protected. .')).toBe(false);
    expect(isFallbackKeyAllowed('main-non_protected')).toBe(true);
    expect(isFallbackKeyAllowed('main-protected-x')).toBe(true);
  });
});

describe('planCacheRestore', () => {
  const variables: Record<string, string> = { CI_COMMIT_REF_SLUG: 'main', POLICY: 'pull' };
  const expand = (value: string) => value.replace(/\$\{?(\w+)\}?/g, (_, name: string) => variables[name] ?? '');

  it('lists the key, fallback keys and CACHE_FALLBACK_KEY in order', () => {
    const plan = planCacheRestore(
      {
        key: '$CI_COMMIT_REF_SLUG-non_protected',
        paths: ['vendor/'],
        fallback_keys: ['fb\\one', ''],
        policy: '$POLICY',
      },
      { jobName: 'build', gitRef: 'main', expand, cacheFallbackKey: 'global' },
    );
    expect(plan).toMatchInlineSnapshot(`
      {
        "action": "restore",
        "candidates": [
          {
            "display": "main-non_protected",
            "storageKey": "main-non_protected",
          },
          {
            "display": "fb/one",
            "storageKey": "fb/one",
          },
          {
            "display": "global",
            "storageKey": "global",
          },
        ],
        "notices": [
          {
            "level": "warning",
            "message": "cache key "fb\\\\one" sanitized to "fb/one"",
          },
        ],
        "policy": "pull",
      }
    `);
  });

  it('refuses a protected CACHE_FALLBACK_KEY, uses <job>/<ref> for an empty key and skips push-only caches', () => {
    const refused = planCacheRestore(
      { paths: ['a'] },
      { jobName: 'build', gitRef: 'dev', cacheFallbackKey: 'main-protected' },
    );
    expect(refused.action === 'restore' && refused.candidates.map((c) => c.display)).toEqual(['build/dev']);
    expect(refused.notices).toEqual([
      { level: 'warning', message: 'CACHE_FALLBACK_KEY "main-protected" not allowed to end in "-protected"' },
    ]);
    const push = planCacheRestore({ key: 'k', paths: ['a'], policy: 'push' }, { jobName: 'j', gitRef: 'r' });
    expect(push).toEqual({
      action: 'skip',
      notices: [{ level: 'notice', message: 'Not downloading cache k due to policy' }],
    });
    expect(planCacheRestore({ key: 'k' }, { jobName: 'j', gitRef: 'r' }).action).toBe('skip');
  });

  it('hashes keys without sanitising under FF_HASH_CACHE_KEYS', () => {
    const plan = planCacheRestore({ key: 'a\\b', untracked: true }, { jobName: 'j', gitRef: 'r', hashKeys: true });
    expect(plan.action === 'restore' && plan.candidates[0]).toEqual({
      display: 'a\\b',
      storageKey: hashCacheKey('a\\b'),
    });
    expect(hashCacheKey('default')).toBe('37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f');
  });

  it('skips a key that sanitises to nothing', () => {
    const plan = planCacheRestore({ key: '../..', paths: ['a'] }, { jobName: 'j', gitRef: 'r' });
    expect(plan.action).toBe('skip');
  });
});

describe('planCacheSave', () => {
  it('saves on the matching outcome only and honours pull-only policies', () => {
    const context = { jobName: 'j', gitRef: 'r' };
    expect(planCacheSave({ key: 'k', paths: ['a'] }, { ...context, jobSucceeded: true }).action).toBe('save');
    expect(planCacheSave({ key: 'k', paths: ['a'] }, { ...context, jobSucceeded: false }).action).toBe('skip');
    expect(
      planCacheSave({ key: 'k', paths: ['a'], when: 'on_failure' }, { ...context, jobSucceeded: false }).action,
    ).toBe('save');
    expect(planCacheSave({ key: 'k', paths: ['a'], policy: 'pull' }, { ...context, jobSucceeded: true })).toEqual({
      action: 'skip',
      notices: [{ level: 'notice', message: 'Not uploading cache k due to policy' }],
    });
    expect(() => planCacheSave({ key: 'k', paths: ['a'], policy: 'x' }, { ...context, jobSucceeded: true })).toThrow(
      'unknown cache policy x for k',
    );
  });
});
