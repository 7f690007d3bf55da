// get_sources runs git on the remote host: a clone from the git server on 127.0.0.1:8929 lands in GitLab's
// layout under builds_dir; the job token stays out of the log and .git/config; fetch reuses the work tree.
import { execFileSync } from 'node:child_process';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { requireComponent } from '@runnerkit/testkit';
import { describe, expect, it } from 'vitest';
import { job, testContext } from './test-support/ssh.js';

const context = testContext('sources');
const git = requireComponent('git');
const project = git.repos.project!;
const SHA = execFileSync('git', ['-C', project.path, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();

function sourcesJob(script: string[], strategy: string) {
  return job(script, {
    token: git.token,
    git_info: {
      repo_url: project.url.replace('http://', `http://gitlab-ci-token:${git.token}@`),
      ref: 'main',
      sha: SHA,
      ref_type: 'branch',
      refspecs: ['+refs/heads/main:refs/remotes/origin/main'],
      depth: 0,
    },
    variables: [
      { key: 'CI_JOB_ID', value: '4242', public: true, masked: false },
      { key: 'GIT_STRATEGY', value: strategy, public: true, masked: false },
    ],
  });
}

describe('get_sources with git on the remote host', () => {
  it('clones into <builds_dir>/<short token>/<concurrent project id>/<namespace>/<project>', async () => {
    const projectDir = `${context.absoluteRoot}/builds/conforman/0/group/project`;
    const { result, trace } = await runObserved(
      context.executor(),
      sourcesJob(
        ['pwd', 'ls -a', 'git rev-parse HEAD', 'cat .git/config', 'echo "shared=$CI_SHARED_ENVIRONMENT"'],
        'clone',
      ),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain(`Initialized empty Git repository in ${projectDir}/.git/`);
    expect(trace).toContain(`Checking out ${SHA.slice(0, 8)} as detached HEAD (ref is main)...`);
    expect(trace).toContain(`\n${projectDir}\n`);
    expect(trace).toContain('\n.gitlab-ci.yml\n');
    expect(trace).toContain(`\n${SHA}\n`);
    expect(trace).toContain('url = http://127.0.0.1:8929/group/project.git');
    expect(trace).toContain('\nshared=true\n');
    expect(trace).not.toContain(git.token);
  });

  it('fetch reuses the existing work tree on the remote host', async () => {
    const first = await runObserved(context.executor(), sourcesJob(['touch kept-by-fetch'], 'fetch'));
    expect(first.result.outcome).toEqual({ status: 'success' });
    const second = await runObserved(context.executor(), sourcesJob(['git rev-parse HEAD'], 'fetch'));
    expect(second.result.outcome).toEqual({ status: 'success' });
    expect(second.trace).toContain('Reinitialized existing Git repository');
    expect(second.trace).toContain(`\n${SHA}\n`);
  });
});
