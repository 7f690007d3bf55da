import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Coordinator, CoordinatorError, createCoordinator } from './index.js';
import { fixture, send } from './test-support.js';

const minimalJob = fixture('job-minimal.json');
let open: Coordinator[] = [];
const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(open.map((coordinator) => coordinator.close()));
  open = [];
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof createCoordinator>[0] = {}) {
  const coordinator = await createCoordinator(options);
  open.push(coordinator);
  return coordinator;
}

async function call(coordinator: Coordinator, method: string, path: string, body?: unknown) {
  const answer = await send(coordinator.url, {
    method,
    path,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  const text = answer.body.toString();
  return { status: answer.status, json: text ? JSON.parse(text) : undefined };
}

describe('admin API', () => {
  it('POST /-/jobs fills id and token; GET /-/jobs/:id shows status, trace and artifacts', async () => {
    const coordinator = await start();
    const sparse = { steps: [{ name: 'script', script: ['true'] }], job_info: { name: 'lint', stage: 'test' } };
    const created = await call(coordinator, 'POST', '/-/jobs', sparse);
    expect(created).toEqual({ status: 201, json: { id: 1 } });
    expect(await call(coordinator, 'GET', '/-/jobs/1')).toEqual({
      status: 200,
      json: {
        id: 1,
        name: 'lint',
        stage: 'test',
        status: 'pending',
        failure_reason: null,
        exit_code: null,
        pipeline_id: null,
        runner_id: null,
        trace: '',
        artifacts: [],
      },
    });
    const runner = await call(coordinator, 'POST', '/-/runners', {});
    const taken = await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/jobs/request',
      body: { token: runner.json.token },
    });
    const payload = JSON.parse(taken.body.toString());
    expect(payload).toMatchObject({
      id: 1,
      token: expect.stringMatching(/^glcbt-/),
      job_info: { id: 1, name: 'lint' },
    });
    expect((await call(coordinator, 'GET', '/-/jobs/404')).status).toBe(404);
  });

  it('POST /-/jobs keeps a given id and answers 409 when it is taken', async () => {
    const coordinator = await start();
    expect((await call(coordinator, 'POST', '/-/jobs', minimalJob)).json).toEqual({ id: 1001 });
    expect((await call(coordinator, 'POST', '/-/jobs', minimalJob)).status).toBe(409);
    expect((await call(coordinator, 'POST', '/-/jobs', [1, 2])).status).toBe(400);
  });

  it('cancels gracefully or by force', async () => {
    const coordinator = await start();
    const runner = coordinator.createRunner();
    coordinator.createJob(minimalJob);
    await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/jobs/request',
      body: { token: runner.token, info: { features: { cancel_gracefully: true } } },
    });
    expect((await call(coordinator, 'POST', '/-/jobs/1001/cancel')).json.status).toBe('canceling');
    expect((await call(coordinator, 'POST', '/-/jobs/1001/cancel?force=true')).json.status).toBe('canceled');
  });

  it('creates and lists runners, changes them and records their managers', async () => {
    const coordinator = await start();
    const created = await call(coordinator, 'POST', '/-/runners', { description: 'ci', tag_list: 'a, b' });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: 1, token: expect.stringMatching(/^glrt-/), token_expires_at: null });
    const paused = await call(coordinator, 'PUT', '/-/runners/1', { paused: true });
    expect(paused.json).toMatchObject({ paused: true, tag_list: ['a', 'b'], description: 'ci' });
    const listed = await call(coordinator, 'GET', '/-/runners');
    expect(listed.json).toHaveLength(1);
  });

  it('takes faults over HTTP and records requests', async () => {
    const coordinator = await start();
    const fault = { type: 'respond', endpoint: 'verify', status: 500, body: { message: '500 Internal Server Error' } };
    expect((await call(coordinator, 'POST', '/-/faults', [fault])).status).toBe(204);
    expect((await call(coordinator, 'POST', '/-/faults', { type: 'nonsense' })).status).toBe(400);
    const answer = await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/runners/verify',
      body: { token: 'x' },
    });
    expect(answer.status).toBe(500);
    expect(
      (await send(coordinator.url, { method: 'POST', path: '/api/v4/runners/verify', body: { token: 'x' } })).status,
    ).toBe(403);
    const recorded = await call(coordinator, 'GET', '/-/requests');
    expect(recorded.json.map((entry: { endpoint: string; status: number }) => [entry.endpoint, entry.status])).toEqual([
      ['verify', 500],
      ['verify', 403],
    ]);
    expect(JSON.parse(recorded.json[0].body)).toEqual({ token: 'x' });
    expect((await call(coordinator, 'DELETE', '/-/requests')).status).toBe(204);
    expect(coordinator.requests()).toEqual([]);
  });

  it("caps the job timeout at the runner's maximum_timeout when it hands the job out", async () => {
    const coordinator = await start();
    const runner = coordinator.createRunner({ maximumTimeout: 600 });
    coordinator.createJob(minimalJob);
    const taken = await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/jobs/request',
      body: { token: runner.token },
    });
    expect(JSON.parse(taken.body.toString()).runner_info.timeout).toBe(600);
  });

  it('changes a job status on request', async () => {
    const coordinator = await start();
    coordinator.createJob(minimalJob);
    expect((await call(coordinator, 'PUT', '/-/jobs/1001/status', { status: 'running' })).json.status).toBe('running');
    expect((await call(coordinator, 'PUT', '/-/jobs/1001/status', { status: 'exploded' })).status).toBe(400);
  });
});

describe('options', () => {
  it('serves the API below a path prefix', async () => {
    const coordinator = await start({ pathPrefix: '/gitlab' });
    expect(coordinator.url).toMatch(/\/gitlab$/);
    const answer = await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/runners/verify',
      body: { token: 'x' },
    });
    expect(answer.status).toBe(403);
  });

  it('keeps runners, jobs, traces and artifacts in the data directory across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coordinator-data-'));
    scratch.push(dataDir);
    const first = await start({ dataDir, registrationToken: 'GR1348941persisted' });
    const runner = first.createRunner({ token: 'glrt-persisted-runner' });
    const job = first.createJob(minimalJob);
    first.setJobStatus(job.id, 'running');
    await send(first.url, {
      method: 'PATCH',
      path: `/api/v4/jobs/${job.id}/trace`,
      headers: { 'JOB-TOKEN': job.token, 'Content-Range': '0-4' },
      bodyText: 'hello',
    });
    await first.close();
    open = [];
    expect(JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).runners[0].token).toBe(runner.token);

    const second = await start({ dataDir });
    expect(second.runners()[0]?.token).toBe('glrt-persisted-runner');
    expect(second.job(job.id)).toMatchObject({ status: 'running', trace: 'hello' });
    const next = second.createJob({});
    expect(next.id).toBe(1002);
  });

  it('rejects a bad port with a typed error', async () => {
    await expect(createCoordinator({ port: 70000 })).rejects.toSatisfy(
      (error) => CoordinatorError.isInstance(error) && error.code === 'COORDINATOR_INVALID_OPTIONS',
    );
  });
});
