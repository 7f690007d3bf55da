// The client against the real fake GitLab (@runnerkit/coordinator): registration, verification, unregistering,
// token rotation, job requests, and their error paths.
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import { JobApiError } from './errors.js';
import { FIXTURE_RUNNER, fixture, instantClock } from './testing/http-server.js';

let coordinator: Coordinator;
let client: JobApiClient;
const SYSTEM_ID = 's_0123456789ab';

afterEach(async () => {
  await client?.close();
  await coordinator?.close();
});

async function setup(options: Parameters<typeof createCoordinator>[0] = {}) {
  coordinator = await createCoordinator(options);
  client = createJobApiClient({ url: coordinator.url, runner: FIXTURE_RUNNER, clock: instantClock() });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (JobApiError.isInstance(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

function payload(): Record<string, unknown> {
  const { id: _id, token: _token, ...rest } = fixture<Record<string, unknown>>('job-minimal.json');
  return rest;
}

describe('client × coordinator: runners', () => {
  it('legacy registration, then verify, then unregister the runner', async () => {
    await setup();
    const credentials = await client.register({
      token: coordinator.registrationToken,
      description: 'rk',
      tagList: ['docker'],
      systemId: SYSTEM_ID,
    });
    expect(credentials.token).toMatch(/^glrtr-/);
    expect(coordinator.runners().find((r) => r.id === credentials.id)).toBeDefined();
    await expect(client.verify({ token: credentials.token, systemId: SYSTEM_ID })).resolves.toMatchObject({
      id: credentials.id,
    });
    await client.unregister({ token: credentials.token });
    expect(await code(client.verify({ token: credentials.token, systemId: SYSTEM_ID }))).toBe('JOB_API_FORBIDDEN');
  });

  it('registration errors: wrong token 403, invalid access level 400, disabled 410', async () => {
    await setup();
    expect(await code(client.register({ token: 'GR1348941wrong-token' }))).toBe('JOB_API_FORBIDDEN');
    expect(await code(client.register({ token: coordinator.registrationToken, accessLevel: 'everything' }))).toBe(
      'JOB_API_VALIDATION_FAILED',
    );
    await coordinator.close();
    await client.close();
    await setup({ registrationEnabled: false });
    expect(await code(client.register({ token: coordinator.registrationToken }))).toBe(
      'JOB_API_REGISTRATION_DISALLOWED',
    );
  });

  it('created runner: register verifies the glrt token; unregister removes only the manager', async () => {
    await setup();
    const runner = coordinator.createRunner();
    expect(runner.token).toMatch(/^glrt-/);
    const credentials = await client.register({ token: runner.token, systemId: SYSTEM_ID });
    expect(credentials.id).toBe(runner.id);
    expect(coordinator.requests({ endpoint: 'register' })).toHaveLength(0);
    await client.unregister({ token: runner.token, systemId: SYSTEM_ID });
    expect(await code(client.unregisterManager({ token: runner.token, systemId: SYSTEM_ID }))).toBe(
      'JOB_API_NOT_FOUND',
    );
    // The runner itself still exists.
    await expect(client.verify({ token: runner.token, systemId: SYSTEM_ID })).resolves.toMatchObject({ id: runner.id });
    expect(await code(client.verify({ token: 'glrt-unknown-token', systemId: SYSTEM_ID }))).toBe('JOB_API_FORBIDDEN');
    expect(await code(client.unregisterRunner({ token: 'glrt-unknown-token' }))).toBe('JOB_API_FORBIDDEN');
  });

  it('token rotation with the current token and with a personal access token', async () => {
    await setup({ tokenExpiresInSeconds: 3600 });
    const runner = coordinator.createRunner();
    const rotated = await client.resetToken({ token: runner.token });
    expect(rotated.token).not.toBe(runner.token);
    expect(rotated.tokenExpiresAt).not.toBeNull();
    expect(await code(client.resetToken({ token: runner.token }))).toBe('JOB_API_FORBIDDEN');
    const byId = await client.resetTokenWithPersonalAccessToken({
      runnerId: runner.id,
      personalAccessToken: coordinator.personalAccessToken,
    });
    await expect(client.verify({ token: byId.token, systemId: SYSTEM_ID })).resolves.toMatchObject({ id: runner.id });
    expect(
      await code(client.resetTokenWithPersonalAccessToken({ runnerId: runner.id, personalAccessToken: 'glpat-wrong' })),
    ).not.toBe('resolved');
  });
});

describe('client × coordinator: job requests', () => {
  it('204 stores the queue value; an unchanged value gets 204 again; a new job arrives parsed', async () => {
    await setup();
    const runner = coordinator.createRunner();
    const first = await client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    expect(first).toMatchObject({ kind: 'no-job', healthy: true });
    const value = client.lastUpdate(runner.token);
    expect(value).toBeTruthy();
    await client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    const recorded = coordinator.requests({ endpoint: 'job-request' });
    expect(JSON.parse(recorded[1]!.body.toString()).last_update).toBe(value);
    const job = coordinator.createJob(payload());
    const third = await client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    expect(third.kind).toBe('job');
    if (third.kind === 'job') {
      expect(third.job.id).toBe(job.id);
      expect(third.job.token).toBe(job.token);
    }
  });

  it('long polling: the held request is answered by a new job with a polling 204, then the job comes at once', async () => {
    await setup({ longPollingSeconds: 20 });
    const runner = coordinator.createRunner();
    // no last_update yet: forwarded to Rails at once, still marked by the polling layer
    const first = await client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    expect(first).toMatchObject({ kind: 'no-job', longPolling: true });
    expect(client.lastRequestLongPolled(runner.token)).toBe(true);
    const started = Date.now();
    const held = client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const job = coordinator.createJob(payload());
    await expect(held).resolves.toMatchObject({ kind: 'no-job', longPolling: true });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(5000);
    const third = await client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    expect(third).toMatchObject({ kind: 'job', job: { id: job.id } });
    expect(client.lastRequestLongPolled(runner.token)).toBe(false);
  });

  it('without long polling a 204 is not marked as a polling answer', async () => {
    await setup();
    const runner = coordinator.createRunner();
    await expect(client.requestJob({ token: runner.token })).resolves.toMatchObject({
      kind: 'no-job',
      longPolling: false,
    });
    expect(client.lastRequestLongPolled(runner.token)).toBe(false);
  });

  it('paused runner → 204; unknown token → 403, unhealthy', async () => {
    await setup();
    const runner = coordinator.createRunner({ paused: true });
    coordinator.createJob(payload());
    await expect(client.requestJob({ token: runner.token })).resolves.toMatchObject({ kind: 'no-job' });
    const forbidden = await client.requestJob({ token: 'glrt-not-a-runner' });
    expect(forbidden).toMatchObject({ kind: 'failed', reason: 'forbidden', status: 403, healthy: false });
    expect(client.health('glrt-not-a-runner').snapshot().consecutiveFailures).toBe(1);
  });

  it('maintenance back-off: 429 + Retry-After is retried 5 times, then a healthy failure', async () => {
    await setup();
    const runner = coordinator.createRunner();
    coordinator.inject({ type: 'maintenance', enabled: true, retryAfterSeconds: 60 });
    const result = await client.requestJob({ token: runner.token });
    expect(result).toMatchObject({ kind: 'failed', status: 429, healthy: true });
    expect(coordinator.requests({ endpoint: 'job-request' })).toHaveLength(5);
    coordinator.inject({ type: 'maintenance', enabled: false });
    await expect(client.requestJob({ token: runner.token })).resolves.toMatchObject({ kind: 'no-job' });
  });

  it('injected 503s are retried by the transport; the job arrives', async () => {
    await setup();
    const runner = coordinator.createRunner();
    coordinator.createJob(payload());
    coordinator.inject({
      type: 'respond',
      endpoint: 'job-request',
      times: 2,
      status: 503,
      bodyText: 'Service Unavailable',
    });
    await expect(client.requestJob({ token: runner.token })).resolves.toMatchObject({ kind: 'job' });
  });

  it('a dropped connection is "no answer": failed, healthy', async () => {
    await setup();
    const runner = coordinator.createRunner();
    coordinator.inject({ type: 'drop', endpoint: 'job-request' });
    await expect(client.requestJob({ token: runner.token })).resolves.toMatchObject({
      kind: 'failed',
      reason: 'no-answer',
      healthy: true,
    });
  });

  it('long polling: a current last_update waits until a job is queued', async () => {
    await setup({ longPollingSeconds: 5 });
    const runner = coordinator.createRunner();
    await client.requestJob({ token: runner.token });
    const started = Date.now();
    const polling = client.requestJob({ token: runner.token });
    setTimeout(() => coordinator.createJob(payload()), 200);
    const woken = await polling;
    expect(woken).toMatchObject({ kind: 'no-job' });
    expect(Date.now() - started).toBeLessThan(4000);
    await expect(client.requestJob({ token: runner.token })).resolves.toMatchObject({ kind: 'job' });
  });

  it('a malformed payload from a misbehaving server never crashes the client; it is reported failed', async () => {
    await setup();
    const runner = coordinator.createRunner();
    const bad = { ...payload(), steps: [{ name: 'script', script: 'echo not-an-array' }], variables: { A: '1' } };
    const created = coordinator.createJob(bad);
    const result = await client.requestJob({ token: runner.token, systemId: SYSTEM_ID });
    expect(result.kind).toBe('invalid-job');
    if (result.kind !== 'invalid-job') return;
    expect(result.error.issues.map((i) => i.path).sort()).toEqual(['steps[0].script', 'variables']);
    await expect(client.reportInvalidJob(result.error, { runnerToken: runner.token })).resolves.toBe(true);
    const view = coordinator.job(created.id)!;
    expect(view).toMatchObject({ status: 'failed', failure_reason: 'runner_system_failure' });
    expect(view.trace).toContain('steps[0].script');
  });
});
