import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { gitProject, runCli, startCli, stopCli, temporaryDirectory } from './support.js';

let work: Awaited<ReturnType<typeof temporaryDirectory>>;
beforeAll(async () => {
  work = await temporaryDirectory('exec');
});
afterAll(async () => {
  await work?.remove();
});

const STAGES = `stages: [build, test, deploy]
build:
  stage: build
  script:
    - echo "built from $(cat tracked.txt) $(cat modified.txt) $(cat untracked.txt)" > out.txt
    - cat out.txt
    - test ! -e ignored.txt
test:
  stage: test
  script: [echo "testing $GREETING"]
lint:
  stage: test
  needs: []
  script: [echo lint]
deploy:
  stage: deploy
  when: manual
  script: [echo deploying]
`;

function shellEnv() {
  return { XDG_CACHE_HOME: join(work.path, 'cache-home') };
}

describe('runnerkit exec with the shell executor', () => {
  it('runs the working tree as it is (committed, modified, untracked, not ignored), lists manual jobs, exit 0', async () => {
    const project = await gitProject(work.path, 'tree', {
      '.gitlab-ci.yml': STAGES,
      'tracked.txt': 'tracked',
      'modified.txt': 'original',
      '.gitignore': 'ignored.txt\n',
    });
    await writeFile(join(project, 'modified.txt'), 'modified');
    await writeFile(join(project, 'untracked.txt'), 'untracked');
    await writeFile(join(project, 'ignored.txt'), 'ignored');
    const result = await runCli(['exec', '--executor', 'shell', '--cwd', project, '--variable', 'GREETING=hi'], {
      env: shellEnv(),
    });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain('build  | built from tracked modified untracked');
    expect(result.stdout).toContain('test   | testing hi');
    const summary = result.stdout.slice(result.stdout.lastIndexOf('\njob ') + 1).replace(/\d+\.\d+s/g, 'Ns');
    expect(summary).toMatchInlineSnapshot(`
      "job     stage   status   duration
      build   build   success  Ns
      test    test    success  Ns
      lint    test    success  Ns
      deploy  deploy  manual   -
      pipeline success
      "
    `);
  });

  it('runs only the named jobs, --needs adds what they need, a named manual job runs; failure → exit 1', async () => {
    const project = await gitProject(work.path, 'select', {
      '.gitlab-ci.yml': `${STAGES}broken:\n  stage: deploy\n  script: [exit 3]\n`,
      'tracked.txt': 'a',
      'modified.txt': 'b',
      'untracked.txt': 'c',
    });
    const only = await runCli(['exec', '--executor', 'shell', '--cwd', project, 'test'], { env: shellEnv() });
    expect(only.code, only.stderr).toBe(0);
    expect(only.stdout).not.toContain('build  |');
    expect(only.stdout).toMatch(/^test\s+test\s+success/m);

    const withNeeds = await runCli(['exec', '--executor', 'shell', '--cwd', project, '--needs', 'deploy'], {
      env: shellEnv(),
    });
    expect(withNeeds.code, withNeeds.stderr).toBe(0);
    const rows = withNeeds.stdout.split('\n').filter((line) => /^(build|test|lint|deploy)\s+\w+\s+\w+/.test(line));
    expect(rows.map((row) => row.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'build build success',
      'test test success',
      'lint test success',
      'deploy deploy success',
    ]);
    expect(withNeeds.stdout).toContain('deploy | deploying');

    const failing = await runCli(['exec', '--executor', 'shell', '--cwd', project, 'broken'], { env: shellEnv() });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('ERROR: Job failed: exit code 3');
    expect(failing.stdout).toContain('pipeline failed');

    const unknown = await runCli(['exec', '--executor', 'shell', '--cwd', project, 'nope'], { env: shellEnv() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no job named "nope"');
  });

  it('works in a directory that is not a git checkout', async () => {
    const dir = join(work.path, 'plain');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeFile(join(dir, '.gitlab-ci.yml'), 'hello:\n  script: [cat data.txt]\n');
    await writeFile(join(dir, 'data.txt'), 'plain data');
    const result = await runCli(['exec', '--executor', 'shell', '--cwd', dir], { env: shellEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('hello | plain data');
  });

  it('without a config uses Docker, and a job with no image fails with a clear message', async () => {
    const dir = join(work.path, 'noimage');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeFile(join(dir, '.gitlab-ci.yml'), 'hello:\n  script: [echo hi]\n');
    const result = await runCli(['exec', '--cwd', dir], { env: shellEnv() });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('ERROR: job "hello" has no image');
    expect(result.stdout).toMatch(/^hello\s+test\s+failed\s+-\s+no image$/m);
  });

  it('with -c takes the named entry’s executor settings and environment, never its url or token', async () => {
    const project = await gitProject(work.path, 'config', {
      '.gitlab-ci.yml': 'show:\n  script: [echo "env=$FROM_CONFIG"]\n',
    });
    const config = join(work.path, 'exec-config.toml');
    await writeFile(
      config,
      `concurrent = 2\n\n[[runners]]\n  name = "first"\n  url = "https://gitlab.invalid/"\n  token = "glrt-not-used"\n  executor = "kubernetes"\n\n[[runners]]\n  name = "local"\n  url = "https://gitlab.invalid/"\n  token = "glrt-not-used-either"\n  executor = "shell"\n  builds_dir = "${work.path}/config-builds"\n  cache_dir = "${work.path}/config-cache"\n  environment = ["FROM_CONFIG=yes"]\n`,
    );
    const result = await runCli(['exec', '-c', config, '--runner', 'local', '--cwd', project], { env: shellEnv() });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain('show | env=yes');
    expect(result.stdout).toContain(`Initialized empty Git repository in ${work.path}/config-builds/`);
    const first = await runCli(['exec', '-c', config, '--cwd', project], { env: shellEnv() });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('executor "kubernetes" is not supported by runnerkit');
  });

  it('SIGINT stops the running jobs: they fail with runner_interrupted and exec exits 1', async () => {
    const project = await gitProject(work.path, 'interrupt', {
      '.gitlab-ci.yml':
        'slow:\n  script: ["echo started", "sleep 30"]\nlater:\n  stage: deploy\n  script: [echo never]\n',
    });
    const cli = startCli(['exec', '--executor', 'shell', '--cwd', project], { env: shellEnv() });
    onTestFinished(() => stopCli(cli));
    await cli.waitFor(/slow +\| started/, 30_000);
    const started = Date.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(cli.stdout).toContain('slow  | ERROR: Job failed: aborted: SIGINT');
    expect(cli.stdout).toMatch(/^later\s+deploy\s+canceled/m);
    expect(cli.stdout).not.toContain('never');
  });
});
