import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Coordinator, createCoordinator } from './index.js';
import { send } from './test-support.js';

const YAML = `
stages: [build, test]
build:
  stage: build
  script: [echo build]
  artifacts:
    paths: [out/]
test:
  stage: test
  script: [echo test]
`;

let coordinator: Coordinator;
let scratch: string;
beforeEach(async () => {
  coordinator = await createCoordinator();
  scratch = mkdtempSync(join(tmpdir(), 'coordinator-pipeline-test-'));
});
afterEach(async () => {
  await coordinator.close();
  rmSync(scratch, { recursive: true, force: true });
});

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' });

// Git talks to the coordinator in this process: never block the event loop while it does.
const gitAsync = promisify(execFile);

async function admin(method: string, path: string, body?: unknown) {
  const answer = await send(coordinator.url, {
    method,
    path,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  return { status: answer.status, json: answer.body.length ? JSON.parse(answer.body.toString()) : undefined };
}

async function takeJob(token: string) {
  const answer = await send(coordinator.url, {
    method: 'POST',
    path: '/api/v4/jobs/request',
    headers: { 'Content-Type': 'application/json' },
    body: { token, info: { features: { two_phase_job_commit: false } } },
  });
  expect(answer.status).toBe(201);
  return JSON.parse(answer.body.toString()) as {
    id: number;
    token: string;
    git_info: { repo_url: string; sha: string; refspecs: string[] };
    variables: { key: string; value: string }[];
    job_info: { name: string; project_full_path: string };
  };
}

async function finish(job: { id: number; token: string }, state: 'success' | 'failed') {
  const answer = await send(coordinator.url, {
    method: 'PUT',
    path: `/api/v4/jobs/${job.id}`,
    headers: { 'Content-Type': 'application/json', 'JOB-TOKEN': job.token },
    body: {
      token: job.token,
      state,
      ...(state === 'failed' ? { failure_reason: 'script_failure', exit_code: 2 } : {}),
    },
  });
  expect(answer.status).toBe(200);
}

describe('POST /-/pipelines', () => {
  it('runs stages in order and serves the project over git smart HTTP with the job token', async () => {
    const project = join(scratch, 'hello');
    execFileSync('git', ['init', '-q', '-b', 'main', project]);
    writeFileSync(join(project, 'README'), 'hello from the project\n');
    git(project, 'add', 'README');
    git(project, 'commit', '-q', '-m', 'first');
    const sha = git(project, 'rev-parse', 'HEAD').trim();
    const runner = (await admin('POST', '/-/runners', { description: 'test' })).json as { token: string };
    expect(runner.token).toMatch(/^glrt-/);

    const created = await admin('POST', '/-/pipelines', { yaml: YAML, project_dir: project, ref: 'main' });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: 1,
      status: 'pending',
      jobs: [
        { id: expect.any(Number), name: 'build', stage: 'build', status: 'pending' },
        { id: expect.any(Number), name: 'test', stage: 'test', status: 'created' },
      ],
    });

    const build = await takeJob(runner.token);
    expect(build.job_info).toMatchObject({ name: 'build', project_full_path: 'local/hello' });
    expect(build.git_info.sha).toBe(sha);
    expect(build.git_info.repo_url).toBe(
      `${coordinator.url.replace('://', `://gitlab-ci-token:${build.token}@`)}/local/hello.git`,
    );
    // The runner's fetch: every refspec of the payload, over HTTP with the job token.
    const clone = join(scratch, 'clone');
    execFileSync('git', ['init', '-q', clone]);
    await gitAsync('git', ['fetch', '-q', build.git_info.repo_url, ...build.git_info.refspecs], { cwd: clone });
    git(clone, 'checkout', '-q', sha);
    expect(readFileSync(join(clone, 'README'), 'utf8')).toBe('hello from the project\n');
    const wrongToken = build.git_info.repo_url.replace(build.token, 'glcbt-wrong');
    await expect(
      gitAsync('git', ['ls-remote', wrongToken], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }),
    ).rejects.toThrow(/401|Authentication failed/);

    expect((await admin('GET', '/-/pipelines/1')).json.jobs.map((job: { status: string }) => job.status)).toEqual([
      'running',
      'created',
    ]);
    await finish(build, 'success');
    const test = await takeJob(runner.token);
    expect(test.job_info.name).toBe('test');
    await finish(test, 'failed');
    const done = (await admin('GET', '/-/pipelines/1')).json;
    expect(done).toMatchObject({ status: 'failed', jobs: [{ status: 'success' }, { status: 'failed' }] });
    expect((await admin('GET', `/-/jobs/${test.id}`)).json).toMatchObject({
      status: 'failed',
      failure_reason: 'script_failure',
      exit_code: 2,
    });
  });

  it('gives jobs GIT_STRATEGY none without a project directory', async () => {
    const runner = coordinator.createRunner();
    expect(
      (await admin('POST', '/-/pipelines', { yaml: 'job:\n  script: [echo hi]\n', variables: { A: '1' } })).status,
    ).toBe(201);
    const job = await takeJob(runner.token);
    const variables = Object.fromEntries(job.variables.map((variable) => [variable.key, variable.value]));
    expect(variables).toMatchObject({ GIT_STRATEGY: 'none', A: '1' });
  });

  it('answers 400 with the issues of a bad configuration', async () => {
    const answer = await admin('POST', '/-/pipelines', { yaml: 'job:\n  script: 42\n' });
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('COORDINATOR_PIPELINE_FAILED');
    expect(answer.json.issues.length).toBeGreaterThan(0);
  });
});
