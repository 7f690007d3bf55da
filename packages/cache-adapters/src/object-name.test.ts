import { describe, expect, it } from 'vitest';
import { cacheObjectName, localCacheObjectName, shortenRunnerToken } from './object-name.js';
import { redactUrl } from './redact.js';

describe('object names', () => {
  it('builds runner-scoped and shared names as GitLab Runner does', () => {
    expect(
      cacheObjectName({
        path: 'path/to/prefix',
        runnerShortToken: 'abcdef123',
        projectId: 42,
        key: 'default-protected',
      }),
    ).toBe('path/to/prefix/runner/abcdef123/project/42/default-protected');
    expect(cacheObjectName({ shared: true, projectId: 42, key: 'main/one' })).toBe('project/42/main/one');
    expect(cacheObjectName({ shared: true, projectId: 7, key: 'abcdef', hashed: true })).toBe('project/7/ab/abcdef');
  });

  it('refuses names that leave the project prefix', () => {
    expect(() => cacheObjectName({ shared: true, projectId: 1, key: '../2/x' })).toThrow(/outside of project bucket/);
    expect(() => cacheObjectName({ shared: true, projectId: 1, key: '.' })).toThrow(/outside of project bucket/);
    expect(() => cacheObjectName({ projectId: 1, key: 'k' })).toThrow(/runnerShortToken/);
    expect(() => localCacheObjectName({ projectSlug: 'group/project', key: '../../etc' })).toThrow(/leaves/);
  });

  it('lays local caches out as <slug>/<key>/cache.zip', () => {
    expect(localCacheObjectName({ projectSlug: 'group/project', key: 'default' })).toBe(
      'group/project/default/cache.zip',
    );
  });

  it('shortens runner tokens', () => {
    expect(shortenRunnerToken('glrt-cacheS3000000000000')).toBe('cacheS300');
    expect(shortenRunnerToken('glrtr-abcdefghijkl')).toBe('abcdefghi');
    expect(shortenRunnerToken('GR1348941abcdefghijklmn')).toBe('GR1348941abcdefgh');
    expect(shortenRunnerToken('0123456789abcdef')).toBe('01234567');
    expect(shortenRunnerToken('short')).toBe('short');
  });
});

describe('redactUrl', () => {
  it('drops the query, fragment and user info', () => {
    expect(
      redactUrl('https://user:secret@bucket.s3.amazonaws.com/a/b?X-Amz-Signature=abc&X-Amz-Security-Token=t#f'),
    ).toBe('https://bucket.s3.amazonaws.com/a/b');
    expect(redactUrl('not a url?sig=1')).toBe('not a url');
  });
});
