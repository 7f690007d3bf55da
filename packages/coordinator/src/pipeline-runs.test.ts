import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
let temporary: string;
beforeEach(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'coordinator-pipeline-test-'));
  temporary = mkdtempSync(join(tmpdir(), 'coordinator-pipeline-tmp-'));
  coordinator = await createCoordinator({ temporaryDirectory: temporary });
});
afterEach(async () => {
  await coordinator.close();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(temporary, { recursive: true, force: true });
});

/** The per-pipeline mirrors the coordinator holds in its temporary directory (`<pipeline id>/<name>.git`). */
function mirrors(): string[] {
  const roots = readdirSync(temporary).filter((name) => name.startsWith('runnerkit-coordinator-repos-'));
  return roots.flatMap((root) =>
    readdirSync(join(temporary, root)).flatMap((id) =>
      readdirSync(join(temporary, root, id)).map((name) => `${id}/${name}`),
    ),
  );
}

async function eventually(check: () => boolean) {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return check();
}

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
    // Served from a temporary mirror holding the pipeline ref: the user's checkout is left untouched.
    expect(mirrors()).toEqual(['1/hello.git']);
    expect(git(project, 'for-each-ref', 'refs/pipelines').trim()).toBe('');
    expect(git(clone, 'rev-parse', 'refs/pipelines/1').trim()).toBe(sha);
    await finish(build, 'success');
    const test = await takeJob(runner.token);
    expect(test.job_info.name).toBe('test');
    await finish(test, 'failed');
    // The pipeline is over: its mirror is gone, and the checkout still has no pipeline ref.
    expect(await eventually(() => mirrors().length === 0)).toBe(true);
    expect(git(project, 'for-each-ref', 'refs/pipelines').trim()).toBe('');
    expect(git(project, 'status', '--porcelain').trim()).toBe('');
    const done = (await admin('GET', '/-/pipelines/1')).json;
    expect(done).toMatchObject({ status: 'failed', jobs: [{ status: 'success' }, { status: 'failed' }] });
    expect((await admin('GET', `/-/jobs/${test.id}`)).json).toMatchObject({
      status: 'failed',
      failure_reason: 'script_failure',
      exit_code: 2,
    });
  });

  it('plays a manual job through the scheduler (POST /-/jobs/:id/play), keeping its job id', async () => {
    const runner = coordinator.createRunner();
    const yaml = `
build:
  stage: build
  script: [echo build]
deploy:
  stage: deploy
  when: manual
  script: [echo deploy]
`;
    const created = await admin('POST', '/-/pipelines', { yaml });
    expect(created.status).toBe(201);
    const [build, deploy] = created.json.jobs as { id: number; name: string; status: string }[];
    // As in GitLab, the manual job is `created` until its stage is reached; neither job is playable yet.
    expect([build?.status, deploy?.status]).toEqual(['pending', 'created']);
    expect((await admin('POST', `/-/jobs/${build?.id}/play`)).status).toBe(400);
    expect((await admin('POST', `/-/jobs/${deploy?.id}/play`)).status).toBe(400);
    const buildJob = await takeJob(runner.token);
    await finish(buildJob, 'success');
    // An optional manual job (allow_failure defaults to true) does not hold the pipeline, as in GitLab.
    expect((await admin('GET', '/-/pipelines/1')).json).toMatchObject({
      status: 'success',
      jobs: [{ status: 'success' }, { status: 'manual' }],
    });

    const played = await admin('POST', `/-/jobs/${deploy?.id}/play`);
    expect(played.status).toBe(200);
    expect(played.json).toMatchObject({ id: deploy?.id, name: 'deploy', status: 'pending' });
    const again = await admin('POST', `/-/jobs/${deploy?.id}/play`);
    expect(again).toMatchObject({ status: 400, json: { code: 'COORDINATOR_INVALID_REQUEST' } });
    expect(again.json.error).toMatch(/cannot be played/);
    const deployJob = await takeJob(runner.token);
    expect(deployJob).toMatchObject({ id: deploy?.id, job_info: { name: 'deploy' } });
    await finish(deployJob, 'success');
    expect((await admin('GET', '/-/pipelines/1')).json).toMatchObject({
      status: 'success',
      jobs: [{ status: 'success' }, { status: 'success' }],
    });
    expect((await admin('POST', '/-/jobs/999/play')).status).toBe(404);
    const lone = coordinator.createJob({ steps: [] });
    expect((await admin('POST', `/-/jobs/${lone.id}/play`)).status).toBe(400);
    expect(() => coordinator.playJob(lone.id)).toThrow(/cannot be played/);
  });

  it('does not leave mirrors behind when closed with a pipeline still running', async () => {
    const project = join(scratch, 'busy');
    execFileSync('git', ['init', '-q', '-b', 'main', project]);
    writeFileSync(join(project, 'README'), 'busy\n');
    git(project, 'add', 'README');
    git(project, 'commit', '-q', '-m', 'first');
    expect((await admin('POST', '/-/pipelines', { yaml: YAML, project_dir: project })).status).toBe(201);
    expect(mirrors()).toEqual(['1/busy.git']);
    await coordinator.close();
    expect(readdirSync(temporary)).toEqual([]);
    expect(existsSync(join(project, '.git', 'refs', 'pipelines'))).toBe(false);
  });

  it('compiles a protected pipeline with CI_COMMIT_REF_PROTECTED true, for rules and the payload', async () => {
    const runner = coordinator.createRunner();
    const yaml = 'job:\n  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true"\n  script: [echo hi]\n';
    expect((await admin('POST', '/-/pipelines', { yaml })).status).toBe(400); // no job left: not protected
    expect((await admin('POST', '/-/pipelines', { yaml, protected: true })).status).toBe(201);
    const job = await takeJob(runner.token);
    expect(job.variables.find((variable) => variable.key === 'CI_COMMIT_REF_PROTECTED')?.value).toBe('true');
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
