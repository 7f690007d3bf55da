import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, expect, it } from 'vitest';
import { conformancePayload, runObserved } from '../testing/conformance.js';
import { createShellExecutor } from './shell.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describeWithComponent('git', 'get_sources with git against a real smart-HTTP server (shell executor)', (git) => {
  const root = mkdtempSync(join(tmpdir(), 'job-runtime-git-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const repo = git.repos.project!;
  const sha = execFileSync('git', ['--git-dir', repo.path, 'rev-parse', 'refs/heads/main']).toString().trim();
  const authenticated = repo.url.replace('http://', `http://gitlab-ci-token:${git.token}@`);
  const job = (strategy: string, depth: number, script: string[]) =>
    conformancePayload(script, {
      token: git.token,
      git_info: {
        repo_url: authenticated,
        ref: 'main',
        sha,
        ref_type: 'branch',
        refspecs: ['+refs/heads/main:refs/remotes/origin/main', '+refs/tags/*:refs/tags/*'],
        depth,
      },
      variables: [{ key: 'GIT_STRATEGY', value: strategy, public: true, masked: false }],
      hooks: [{ name: 'pre_get_sources_script', script: ['echo hook-before-clone'] }],
    });
  const executor = () =>
    createShellExecutor({ buildsDir: join(root, 'builds'), cacheDir: join(root, 'cache'), env: { PATH, HOME: root } });

  it('clones at the job sha with the requested depth, printing no credentials', async () => {
    const { result, trace } = await runObserved(
      executor(),
      job('clone', 1, ['git rev-parse HEAD', 'git rev-list --count HEAD', 'ls']),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain('\x1b[32;1m$ echo hook-before-clone\x1b[0;m\nhook-before-clone\n');
    expect(trace).toContain('\x1b[32;1mFetching changes with git depth set to 1...\x1b[0;m\n');
    expect(trace).toContain('\x1b[32;1mCreated fresh repository.\x1b[0;m\n');
    expect(trace).toContain(`\x1b[32;1mChecking out ${sha.slice(0, 8)} as detached HEAD (ref is main)...\x1b[0;m\n`);
    expect(trace).toContain(`\n${sha}\n`);
    expect(trace).toContain('\x1b[32;1m$ git rev-list --count HEAD\x1b[0;m\n1\n');
    // Neither the token nor a masked stand-in for it: the credentials were never printed at all.
    expect(trace).not.toContain(git.token);
    expect(trace).not.toContain('[MASKED]');
    const projectDir = join(root, 'builds', 'conforman', '0', 'group', 'project');
    expect(readFileSync(join(projectDir, '.git', 'config'), 'utf8')).not.toContain(git.token);
    // cleanup_file_variables removed the credential include.
    expect(existsSync(`${projectDir}.tmp/.gitlab-runner.ext.conf`)).toBe(false);
  });

  it('fetches into the existing repository with GIT_STRATEGY=fetch and skips git with none', async () => {
    const fetched = await runObserved(executor(), job('fetch', 0, ['git rev-parse HEAD']));
    expect(fetched.result.outcome).toEqual({ status: 'success' });
    expect(fetched.trace).toContain('\x1b[32;1mFetching changes...\x1b[0;m\n');
    expect(fetched.trace).not.toContain('Created fresh repository.');
    expect(fetched.trace).toContain(`\n${sha}\n`);
    const none = await runObserved(executor(), job('none', 0, ['echo no-git']));
    expect(none.trace).toContain('\x1b[32;1mSkipping Git repository setup\x1b[0;m\n');
    expect(none.trace).not.toContain('hook-before-clone\n');
  });

  it('fails the job with git exit code when the sha does not exist', async () => {
    const payload = job('clone', 1, ['echo never']);
    const { result } = await runObserved(executor(), {
      ...payload,
      git_info: { ...payload.git_info, sha: '0000000000000000000000000000000000000001' },
    });
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'script_failure' });
  });
});
