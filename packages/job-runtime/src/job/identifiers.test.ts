import { describe, expect, it } from 'vitest';
import naming from '../__fixtures__/naming.json' with { type: 'json' };
import shortTokens from '../__fixtures__/short-token.json' with { type: 'json' };
import { formatGoDuration, jobDirectories, parseGoDuration, projectSlug, shortToken } from './identifiers.js';

describe('short token (fixtures/executor/short-token.json)', () => {
  for (const testCase of shortTokens.cases) {
    it(`${testCase.token} → ${testCase.short}`, () => expect(shortToken(testCase.token)).toBe(testCase.short));
  }
});

describe('job directories (fixtures/executor/naming.json)', () => {
  const { input, expected } = naming;
  const base = {
    slug: projectSlug(input.repo_url, input.project_id),
    shortToken: shortToken(input.runner_token),
    concurrentProjectId: input.concurrent_project_id,
    gitStrategy: 'clone',
  };
  const executor = {
    buildsDir: input.builds_dir,
    cacheDir: input.cache_dir,
    sharedBuildsDir: false,
    customBuildDir: true,
  };

  it('computes CI_PROJECT_DIR, the temp dir and the project cache dir', () => {
    const directories = jobDirectories({ ...base, executor });
    expect(directories.projectDir).toBe(expected.CI_PROJECT_DIR);
    expect(directories.tmpDir).toBe(expected.RUNNER_TEMP_PROJECT_DIR);
    expect(directories.projectCacheDir).toBe(expected.project_cache_dir);
  });

  it('nests the project dir when builds are shared', () => {
    const directories = jobDirectories({ ...base, executor: { ...executor, sharedBuildsDir: true } });
    expect(directories.projectDir).toBe(expected.CI_PROJECT_DIR_when_builds_dir_is_host_mounted);
  });

  it('suffixes -empty, honours GIT_CLONE_PATH inside builds_dir only, and only when allowed', () => {
    expect(jobDirectories({ ...base, executor, gitStrategy: 'empty' }).projectDir).toBe(
      '/builds/group/sub/project-empty',
    );
    expect(jobDirectories({ ...base, executor, clonePath: '/builds/custom/x/' }).projectDir).toBe('/builds/custom/x');
    expect(() => jobDirectories({ ...base, executor, clonePath: '/elsewhere' })).toThrowErrorMatchingInlineSnapshot(
      `[ExecutorError: the GIT_CLONE_PATH="/elsewhere" has to be within "/builds"]`,
    );
    expect(() =>
      jobDirectories({ ...base, executor: { ...executor, customBuildDir: false }, clonePath: '/builds/x' }),
    ).toThrowErrorMatchingInlineSnapshot(
      `[ExecutorError: setting GIT_CLONE_PATH is not allowed, enable \`custom_build_dir\` feature]`,
    );
  });

  it('falls back to project-<id> for URLs it cannot use', () => {
    expect(projectSlug('not a url', 5)).toBe('project-5');
    expect(projectSlug('https://h/a/../b.git', 5)).toBe('project-5');
    expect(projectSlug('https://h/group/p.git', 5)).toBe('group/p');
  });
});

describe('Go durations', () => {
  it('parses and formats like Go', () => {
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('-1m')).toBe(-60_000);
    expect(parseGoDuration('10')).toBeUndefined();
    expect(formatGoDuration(3_600_000)).toBe('1h0m0s');
    expect(formatGoDuration(150_000)).toBe('2m30s');
    expect(formatGoDuration(2000)).toBe('2s');
  });
});
