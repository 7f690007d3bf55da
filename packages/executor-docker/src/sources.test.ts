import { execFileSync } from 'node:child_process';
// get_sources on the host: clone/fetch/none, depth, refspecs, GIT_CLONE_PATH, submodules, credentials.
import { requireComponent } from '@runnerkit/testkit';
import { describe, expect, it } from 'vitest';
import { repositoryAccess } from './git.js';
import { job, runAndInspect, testContext } from './test-support/docker.js';

const context = testContext('sources');
const git = requireComponent('git');
const repo = (name: string) => git.repos[name]!.url.replace('http://', `http://gitlab-ci-token:${git.token}@`);
const headOf = (name: string) =>
  execFileSync('git', ['-C', git.repos[name]!.path, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
const SHA = headOf('project');

function sourcesJob(script: string[], vars: Record<string, string>, name = 'project') {
  return job(script, {
    token: git.token,
    git_info: {
      repo_url: repo(name),
      ref: 'main',
      sha: SHA,
      ref_type: 'branch',
      refspecs: ['+refs/heads/main:refs/remotes/origin/main'],
      depth: 0,
    },
    variables: [
      { key: 'CI_JOB_ID', value: '4242', public: true, masked: false },
      ...Object.entries(vars).map(([key, value]) => ({ key, value, public: true, masked: false })),
    ],
  });
}

describe('get_sources without a helper image', () => {
  it('clone with depth: the tree and .git arrive, credentials stay out of the log and .git/config', async () => {
    const { result, trace } = await runAndInspect(
      context,
      context.executor(),
      sourcesJob(['ls -a', 'cat .git/config', 'git --version >/dev/null 2>&1 || echo no-git-in-image', 'ls -ld .'], {
        GIT_STRATEGY: 'clone',
        GIT_DEPTH: '1',
      }),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain('Fetching changes with git depth set to 1...');
    expect(trace).toContain('Initialized empty Git repository in /builds/group/project/.git/');
    expect(trace).toContain('Created fresh repository.');
    expect(trace).toContain(`Checking out ${SHA.slice(0, 8)} as detached HEAD (ref is main)...`);
    expect(trace).toContain('Skipping Git submodules setup');
    expect(trace).toContain('\n.git\n');
    expect(trace).toContain('url = http://127.0.0.1:8929/group/project.git');
    expect(trace).not.toContain(git.token);
    expect(trace).toMatch(/\ndrwxrwxrwx/); // GitLab's helper umask 0000
  });

  it('fetch reuses the host mirror and work tree: the second job reinitialises, not re-creates', async () => {
    try {
      const first = await runAndInspect(
        context,
        context.executor(),
        sourcesJob(['touch leftover-file'], { GIT_STRATEGY: 'fetch' }),
      );
      expect(first.result.outcome).toEqual({ status: 'success' });
      const second = await runAndInspect(
        context,
        context.executor(),
        sourcesJob(['git log --oneline -1 2>/dev/null || true', 'ls -a'], { GIT_STRATEGY: 'fetch' }),
      );
      expect(second.result.outcome).toEqual({ status: 'success' });
      expect(second.trace).toContain('Reinitialized existing Git repository in /builds/group/project/.git/');
      expect(second.trace).not.toContain('Created fresh repository.');
      // the old project directory was removed (while git worked on the host) before the tree was copied in
      expect(second.trace).not.toContain('leftover-file');
      expect(second.trace).toContain('\n.git\n');
      // a pre_get_sources_script hook still runs in the old directory: the removal waits for it
      const hooked = sourcesJob(['touch leftover-file'], { GIT_STRATEGY: 'fetch' });
      await runAndInspect(context, context.executor(), hooked);
      const third = await runAndInspect(context, context.executor(), {
        ...sourcesJob(['ls -a'], { GIT_STRATEGY: 'fetch' }),
        hooks: [{ name: 'pre_get_sources_script', script: ['ls leftover-file && echo hook-saw-the-old-tree'] }],
      });
      expect(third.result.outcome).toEqual({ status: 'success' });
      expect(third.trace).toMatch(/(^|\n)hook-saw-the-old-tree\n/);
      expect(third.trace.split('hook-saw-the-old-tree').at(-1)).not.toContain('leftover-file');
      // the fetch strategy keeps the builds volume: remove it (reusable volumes persist by design)
      const volumes = await context.client.volumes.list({
        filters: { label: [`com.gitlab.gitlab-runner.runner.id=${context.runnerToken.slice(8, 17)}`] },
      });
      expect(volumes.length).toBeGreaterThan(0);
    } finally {
      // the fetch strategy keeps the builds volume (reusable volumes persist by design): remove it
      const left = await context.client.volumes.list({
        filters: { label: [`com.gitlab.gitlab-runner.runner.id=${context.runnerToken.slice(8, 17)}`] },
      });
      for (const volume of left) await context.client.volumes.remove(volume.Name, { force: true });
    }
  });

  it('GIT_CLONE_PATH places the checkout; submodules are updated with the job credentials', async () => {
    const { result, trace } = await runAndInspect(context, context.executor(), {
      ...sourcesJob(
        ['pwd', 'ls -a', 'ls -a sub 2>/dev/null || find . -maxdepth 2 -name "*.txt"'],
        {
          GIT_STRATEGY: 'clone',
          GIT_CLONE_PATH: '$CI_BUILDS_DIR/custom/path',
          GIT_SUBMODULE_STRATEGY: 'recursive',
        },
        'with-submodule',
      ),
      git_info: {
        repo_url: repo('with-submodule'),
        ref: 'main',
        sha: headOf('with-submodule'),
        ref_type: 'branch',
        refspecs: ['+refs/heads/main:refs/remotes/origin/main'],
        depth: 0,
      },
    });
    expect(trace).toContain('\n/builds/custom/path\n');
    expect(trace).toContain('Updating/initializing submodules recursively...');
    expect(trace).not.toContain(git.token);
    expect(result.outcome).toEqual({ status: 'success' });
  });

  it('repositoryAccess keeps credentials out of the URL and applies clone_url', () => {
    expect(
      repositoryAccess('https://gitlab-ci-token:abc@gitlab.example.com/g/p.git', 'http://mirror.local:8080'),
    ).toEqual({
      plainUrl: 'http://mirror.local:8080/g/p.git',
      authConfig: { 'http.http://mirror.local:8080/.extraHeader': 'Authorization: Basic Z2l0bGFiLWNpLXRva2VuOmFiYw==' },
    });
  });
});
