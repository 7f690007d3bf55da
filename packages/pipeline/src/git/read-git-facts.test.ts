import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePipeline } from '../compile.js';
import { buildJobPayload } from '../emit/build-job-payload.js';
import { GitFactsError } from '../errors.js';
import { readGitFacts } from './read-git-facts.js';

let dir: string;
const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipeline-git-'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Ada Dev');
  git('config', 'user.email', 'ada@example.com');
  writeFileSync(join(dir, '.gitlab-ci.yml'), 'job:\n  script: echo "$CI_COMMIT_TITLE"\n');
  git('add', '.');
  git('commit', '-q', '-m', 'Add CI\n\nWith a body line.');
  git('remote', 'add', 'origin', 'https://gitlab.example.com/group/sub/my-project.git');
  git('checkout', '-q', '-b', 'Feature/Login_Form');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readGitFacts on a real checkout', () => {
  it('reads sha, ref, message, author, default branch and origin', async () => {
    const facts = await readGitFacts(dir);
    expect(facts.sha).toBe(git('rev-parse', 'HEAD'));
    expect(facts).toMatchObject({
      ref: 'Feature/Login_Form',
      refType: 'branch',
      defaultBranch: 'main',
      message: 'Add CI\n\nWith a body line.\n',
      author: 'Ada Dev <ada@example.com>',
      remoteUrl: 'https://gitlab.example.com/group/sub/my-project.git',
      objectFormat: 'sha1',
      beforeSha: '0000000000000000000000000000000000000000',
    });
  });

  it('sees a tag when HEAD is detached on one', async () => {
    git('tag', 'v1.0.0');
    git('checkout', '-q', '--detach', 'v1.0.0');
    try {
      expect(await readGitFacts(dir)).toMatchObject({ ref: 'v1.0.0', refType: 'tag' });
    } finally {
      git('checkout', '-q', 'Feature/Login_Form');
    }
  });

  it('feeds the predefined CI_COMMIT_* and CI_PROJECT_* variables', async () => {
    const gitFacts = await readGitFacts(dir);
    const result = await compilePipeline({ yaml: 'job:\n  script: env\n', projectDir: dir, gitFacts });
    if (!result.ok) throw result.error;
    const payload = buildJobPayload(result.pipeline.jobs[0]!, { jobId: 9, jobToken: 'tok' });
    const values = Object.fromEntries(payload.variables.map((v) => [v.key, v.value]));
    expect(values).toMatchObject({
      CI_COMMIT_SHA: gitFacts.sha,
      CI_COMMIT_SHORT_SHA: gitFacts.sha.slice(0, 8),
      CI_COMMIT_REF_NAME: 'Feature/Login_Form',
      CI_COMMIT_REF_SLUG: 'feature-login-form',
      CI_COMMIT_BRANCH: 'Feature/Login_Form',
      CI_COMMIT_TITLE: 'Add CI',
      CI_DEFAULT_BRANCH: 'main',
      CI_PROJECT_NAME: 'my-project',
      CI_PROJECT_PATH: 'group/sub/my-project',
      CI_PROJECT_NAMESPACE: 'group/sub',
      CI_PROJECT_ROOT_NAMESPACE: 'group',
      GIT_STRATEGY: 'none',
    });
    expect(values.CI_PROJECT_DIR).toBeUndefined();
    expect(values.CI_BUILDS_DIR).toBeUndefined();
  });

  it('fails with a typed error outside a repository', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'pipeline-nogit-'));
    try {
      const error = await readGitFacts(empty).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitFactsError);
      expect((error as GitFactsError).code).toBe('PIPELINE_GIT_FAILED');
      expect((error as GitFactsError).message).toContain('git rev-parse HEAD failed');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
