import { afterEach, describe, expect, it } from 'vitest';
import { type Coordinator, type CoordinatorOptions, createCoordinator } from './index.js';
import { type Exchange, exchangeNamed, expectResponse, fixture, send } from './test-support.js';

// The coordinator against every exchange of the shared spec's fixtures, over raw HTTP.

const RUNNER_TOKEN = 'glrt-FAKE-created-runner-token-01';
const QUEUE = '8ad3c5d1b2e64f0a9c7e1d2f3a4b5c6d';
const JOB_TOKEN = 'glcbt-64_FAKE-job-token-0001001';
const requestBody = fixture('job-request-body.json');
const minimalJob = fixture('job-minimal.json');
const traceFixture = fixture<{ fullTraceText: string; sequences: { name: string; exchanges: Exchange[] }[] }>(
  'trace-patch-exchange.json',
);
const fullTrace = Buffer.from(traceFixture.fullTraceText);

let open: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(open.map((coordinator) => coordinator.close()));
  open = [];
});

async function start(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const coordinator = await createCoordinator(options);
  open.push(coordinator);
  return coordinator;
}

/** A coordinator with the fixtures' runner and, unless `job` is false, job 1001 handed to it and acknowledged. */
async function withRunningJob(
  options: CoordinatorOptions & { acknowledge?: boolean; job?: Record<string, unknown> } = {},
): Promise<Coordinator> {
  const coordinator = await start(options);
  coordinator.createRunner({ id: 34, token: RUNNER_TOKEN, queueValue: QUEUE });
  const job = coordinator.createJob(options.job ?? minimalJob);
  const assigned = await send(coordinator.url, {
    method: 'POST',
    path: '/api/v4/jobs/request',
    headers: { 'Content-Type': 'application/json' },
    body: requestBody,
  });
  expect(assigned.status).toBe(201);
  if (options.acknowledge !== false) {
    const ack = exchangeNamed('job-update-exchanges.json', 'acknowledge a received job (two-phase commit)');
    const answer = await send(coordinator.url, {
      ...ack.request,
      path: `/api/v4/jobs/${job.id}`,
      headers: { ...ack.request.headers, 'JOB-TOKEN': job.token },
      body: { ...(ack.request.body as Record<string, unknown>), token: job.token },
    });
    expect(answer.status).toBe(200);
  }
  return coordinator;
}

async function patchTrace(coordinator: Coordinator, jobId: number, token: string, data: Buffer, start = 0) {
  const answer = await send(coordinator.url, {
    method: 'PATCH',
    path: `/api/v4/jobs/${jobId}/trace`,
    headers: {
      'JOB-TOKEN': token,
      'Content-Type': 'text/plain',
      'Content-Range': `${start}-${start + data.length - 1}`,
    },
    bodyText: data.toString('utf8'),
  });
  expect(answer.status).toBe(202);
}

describe('register-legacy.json', () => {
  const file = 'register-legacy.json';
  const registrationToken = 'GR1348941FAKE-registration-token';

  it('success', async () => {
    const coordinator = await start({ registrationToken });
    const exchange = exchangeNamed(file, 'success');
    const answer = await send(coordinator.url, exchange.request);
    expectResponse(answer, exchange.response!, {
      id: expect.any(Number),
      token: expect.stringMatching(/^glrtr-/),
      token_expires_at: null,
    });
    const [runner] = coordinator.runners();
    expect(runner).toMatchObject({
      description: 'docker-runner-1',
      tag_list: ['docker', 'linux'],
      run_untagged: false,
      locked: true,
      access_level: 'not_protected',
      maximum_timeout: 10800,
      paused: false,
    });
  });

  it.each(['invalid registration token', 'validation error (unknown access_level)'])('%s', async (name) => {
    const coordinator = await start({ registrationToken });
    const exchange = exchangeNamed(file, name);
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    expect(coordinator.runners()).toEqual([]);
  });

  it('registration tokens disabled on the server', async () => {
    const coordinator = await start({ registrationToken, registrationEnabled: false });
    const exchange = exchangeNamed(file, 'registration tokens disabled on the server');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });
});

describe('register-created-runner.json', () => {
  const file = 'register-created-runner.json';

  it('verify succeeds and records the runner manager', async () => {
    const coordinator = await start();
    coordinator.createRunner({ id: 34, token: RUNNER_TOKEN, tokenExpiresAt: '2026-12-31T00:00:00.000Z' });
    const exchange = exchangeNamed(file, 'verify succeeds');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    const manager = coordinator.runners()[0]?.managers[0];
    expect(manager).toMatchObject({ system_id: 's_0123456789ab', name: 'runnerkit', executor: 'docker' });
    expect(manager?.features.cancel_gracefully).toBe(true);
  });

  it('token unknown or runner deleted', async () => {
    const coordinator = await start();
    coordinator.createRunner({ token: RUNNER_TOKEN });
    const exchange = exchangeNamed(file, 'token unknown or runner deleted');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('legacy server answers plain text (injected)', async () => {
    const coordinator = await start();
    coordinator.inject({ type: 'respond', endpoint: 'verify', status: 200, bodyText: '200' });
    const exchange = exchangeNamed(file, 'legacy server answers plain text');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });
});

describe('unregister.json', () => {
  const file = 'unregister.json';

  it('delete runner', async () => {
    const coordinator = await start();
    coordinator.createRunner({ token: 'glrtr-FAKE-legacy-runner-token-02', tokenKind: 'registered' });
    const exchange = exchangeNamed(file, 'delete runner');
    const answer = await send(coordinator.url, exchange.request);
    expectResponse(answer, exchange.response!);
    expect(answer.body.length).toBe(0);
    expect(coordinator.runners()).toEqual([]);
  });

  it('delete runner manager, then one that does not exist', async () => {
    const coordinator = await start();
    coordinator.createRunner({ token: RUNNER_TOKEN });
    const verify = exchangeNamed('register-created-runner.json', 'verify succeeds');
    expect((await send(coordinator.url, verify.request)).status).toBe(200);
    const exchange = exchangeNamed(file, 'delete runner manager');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    expect(coordinator.runners()[0]?.managers).toEqual([]);
    const missing = exchangeNamed(file, 'delete runner manager that does not exist');
    expectResponse(await send(coordinator.url, missing.request), missing.response!);
  });

  it('unknown token', async () => {
    const coordinator = await start();
    const exchange = exchangeNamed(file, 'unknown token');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('answers 400 without system_id', async () => {
    const coordinator = await start();
    coordinator.createRunner({ token: RUNNER_TOKEN });
    const answer = await send(coordinator.url, {
      method: 'DELETE',
      path: '/api/v4/runners/managers',
      headers: { 'Content-Type': 'application/json' },
      body: { token: RUNNER_TOKEN },
    });
    expectResponse(answer, { status: 400, body: { error: 'system_id is missing' } });
  });
});

describe('reset-token.json', () => {
  const file = 'reset-token.json';

  it('reset with the current token; the old token stops working', async () => {
    const coordinator = await start();
    coordinator.createRunner({ id: 34, token: RUNNER_TOKEN, tokenExpiresAt: '2026-12-31T00:00:00.000Z' });
    const exchange = exchangeNamed(file, 'reset with the current token');
    const answer = await send(coordinator.url, exchange.request);
    expectResponse(answer, exchange.response!, {
      token: expect.stringMatching(/^glrt-/),
      token_expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const again = await send(coordinator.url, exchange.request);
    expect(again.status).toBe(403);
  });

  it('reset with a personal access token', async () => {
    const coordinator = await start({ personalAccessToken: 'glpat-FAKE-personal-token' });
    coordinator.createRunner({ id: 34, token: RUNNER_TOKEN });
    const exchange = exchangeNamed(file, 'reset with a personal access token');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!, {
      token: expect.stringMatching(/^glrt-/),
      token_expires_at: null,
    });
    const wrong = await send(coordinator.url, {
      ...exchange.request,
      headers: { 'PRIVATE-TOKEN': 'glpat-FAKE-wrong' },
    });
    expect(wrong.status).toBe(401);
  });

  it('current token is wrong', async () => {
    const coordinator = await start();
    const exchange = exchangeNamed(file, 'current token is wrong');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });
});

describe('job-request-exchanges.json', () => {
  const file = 'job-request-exchanges.json';
  const runner = { id: 34, token: RUNNER_TOKEN, queueValue: QUEUE };

  it('first poll, no last_update yet, no job', async () => {
    const coordinator = await start();
    coordinator.createRunner(runner);
    const exchange = exchangeNamed(file, 'first poll, no last_update yet, no job');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('nothing changed (long poll expired)', async () => {
    const coordinator = await start({ longPollingSeconds: 0.2 });
    coordinator.createRunner(runner);
    const exchange = exchangeNamed(file, 'nothing changed (long poll expired)');
    const started = Date.now();
    const answer = await send(coordinator.url, exchange.request);
    expectResponse(answer, exchange.response!);
    expect(answer.headers['x-gitlab-last-update']).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('a long poll ends as soon as a job is queued', async () => {
    const coordinator = await start({ longPollingSeconds: 20 });
    coordinator.createRunner(runner);
    const exchange = exchangeNamed(file, 'nothing changed (long poll expired)');
    const started = Date.now();
    const pending = send(coordinator.url, exchange.request);
    setTimeout(() => coordinator.createJob(minimalJob), 100);
    const answer = await pending;
    expect(answer.status).toBe(204);
    expect(Date.now() - started).toBeLessThan(5000);
    const next = await send(coordinator.url, exchange.request);
    expect(next.status).toBe(201);
    expect(next.headers['gitlab-ci-builds-polling']).toBe('yes');
  });

  it('nothing changed without long polling: Rails answers with the same queue value', async () => {
    const coordinator = await start();
    coordinator.createRunner(runner);
    const exchange = exchangeNamed(file, 'nothing changed (long poll expired)');
    const answer = await send(coordinator.url, exchange.request);
    expectResponse(answer, { status: 204, headers: { 'X-GitLab-Last-Update': QUEUE } });
  });

  it('job assigned: the payload verbatim', async () => {
    const coordinator = await start();
    coordinator.createRunner(runner);
    coordinator.createJob(minimalJob);
    const exchange = exchangeNamed(file, 'job assigned');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    // two_phase_job_commit: the job waits for the acknowledgement, bound to this runner.
    expect(coordinator.job(1001)).toMatchObject({ status: 'pending', runner_id: 34 });
    const again = await send(coordinator.url, { ...exchange.request, body: requestBody });
    expect(again.status).toBe(204);
  });

  it.each([
    [
      'job assigned but wrong content type',
      { status: 201, headers: { 'Content-Type': 'text/html' }, bodyText: '<html>proxy error</html>' },
    ],
    ['orphaned runner (owner project/group gone)', { status: 422, body: { message: '422 Unprocessable Entity' } }],
    ['race with another runner', { status: 409, body: { message: '409 Conflict' } }],
    ['server unavailable', { status: 503, bodyText: 'Service Unavailable' }],
  ] as const)('%s (injected)', async (name, answer) => {
    const coordinator = await start();
    coordinator.createRunner(runner);
    coordinator.inject({ type: 'respond', endpoint: 'job-request', ...answer });
    const exchange = exchangeNamed(file, name);
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    // The fault is used up: the next call is answered normally.
    expect((await send(coordinator.url, exchange.request)).status).toBe(204);
  });

  it('runner token invalid', async () => {
    const coordinator = await start();
    const exchange = exchangeNamed(file, 'runner token invalid');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('runner is paused', async () => {
    const coordinator = await start();
    coordinator.createRunner({ ...runner, paused: true, queueValue: '0f0e0d0c0b0a09080706050403020100' });
    coordinator.createJob(minimalJob);
    const exchange = exchangeNamed(file, 'runner is paused');
    const answer = await send(coordinator.url, exchange.request);
    expect(answer.headers['x-gitlab-last-update']).toMatch(/^[0-9a-f]{32}$/);
    expect(answer.status).toBe(204);
    expect(coordinator.job(1001)?.status).toBe('pending');
  });

  it('rate limited (maintenance back-off)', async () => {
    const coordinator = await start();
    coordinator.createRunner(runner);
    coordinator.inject({ type: 'maintenance', enabled: true, retryAfterSeconds: 60 });
    const exchange = exchangeNamed(file, 'rate limited');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    coordinator.inject({ type: 'maintenance', enabled: false });
    expect((await send(coordinator.url, exchange.request)).status).toBe(204);
  });

  it('hands a job only to runners with its tags, and ref_protected runners only protected refs', async () => {
    const coordinator = await start();
    coordinator.createRunner({ ...runner, tags: ['docker'], runUntagged: false });
    const tagged = coordinator.createJob({ ...minimalJob, id: 2001, token: 'glcbt-a' }, { tags: ['docker', 'gpu'] });
    const untagged = coordinator.createJob({ ...minimalJob, id: 2002, token: 'glcbt-b' });
    const body = { ...requestBody, last_update: undefined };
    expect((await send(coordinator.url, { method: 'POST', path: '/api/v4/jobs/request', body })).status).toBe(204);
    coordinator.updateRunner(34, { tags: ['docker', 'gpu', 'linux'] });
    const answer = await send(coordinator.url, { method: 'POST', path: '/api/v4/jobs/request', body });
    expect(JSON.parse(answer.body.toString()).id).toBe(tagged.id);
    expect(coordinator.job(untagged.id)?.status).toBe('pending');
  });
});

describe('job-update-exchanges.json', () => {
  const file = 'job-update-exchanges.json';

  it('acknowledge a received job (two-phase commit)', async () => {
    const coordinator = await withRunningJob({ acknowledge: false });
    const exchange = exchangeNamed(file, 'acknowledge a received job (two-phase commit)');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    expect(coordinator.job(1001)?.status).toBe('running');
  });

  it('acknowledge, but the job was canceled meanwhile', async () => {
    const coordinator = await withRunningJob({ acknowledge: false });
    coordinator.cancelJob(1001);
    const exchange = exchangeNamed(file, 'acknowledge, but the job was canceled meanwhile');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('acknowledge, job already taken by another runner manager', async () => {
    const coordinator = await withRunningJob();
    const exchange = exchangeNamed(file, 'acknowledge, job already taken by another runner manager');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('keep-alive while no new output for 30 s', async () => {
    const coordinator = await withRunningJob();
    const exchange = exchangeNamed(file, 'keep-alive while no new output for 30 s');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('keep-alive answered with cancel request, then the final update after a graceful cancel', async () => {
    const coordinator = await withRunningJob();
    expect(coordinator.cancelJob(1001).status).toBe('canceling');
    const keepAlive = exchangeNamed(file, 'keep-alive answered with cancel request');
    expectResponse(await send(coordinator.url, keepAlive.request), keepAlive.response!);
    await patchTrace(coordinator, 1001, JOB_TOKEN, fullTrace);
    const final = exchangeNamed(file, 'final update after a graceful cancel');
    expectResponse(await send(coordinator.url, final.request), final.response!);
    expect(coordinator.job(1001)).toMatchObject({ status: 'canceled', failure_reason: null });
  });

  it('keep-alive when the job was force-canceled', async () => {
    const coordinator = await withRunningJob();
    coordinator.cancelJob(1001);
    expect(coordinator.cancelJob(1001, { force: true }).status).toBe('canceled');
    const exchange = exchangeNamed(file, 'keep-alive when the job was force-canceled');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('unknown state value', async () => {
    const coordinator = await withRunningJob();
    const exchange = exchangeNamed(file, 'unknown state value');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    expect(coordinator.job(1001)?.status).toBe('running');
  });

  it('job id that does not exist', async () => {
    const coordinator = await withRunningJob();
    const exchange = exchangeNamed(file, 'job id that does not exist');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('answers 400 when the body has no token and 403 for another job token', async () => {
    const coordinator = await withRunningJob();
    const exchange = exchangeNamed(file, 'keep-alive while no new output for 30 s');
    const body = { ...(exchange.request.body as Record<string, unknown>), token: undefined };
    expectResponse(await send(coordinator.url, { ...exchange.request, body }), {
      status: 400,
      body: { error: 'token is missing' },
    });
    const other = await send(coordinator.url, {
      ...exchange.request,
      headers: { ...exchange.request.headers, 'JOB-TOKEN': 'glcbt-not-this-job' },
    });
    expectResponse(other, { status: 403, body: { message: '403 Forbidden' } });
  });
});

describe('job-update-script-failure.json and job-update-success.json', () => {
  it('final update accepted with script_failure and exit code 1', async () => {
    const coordinator = await withRunningJob();
    await patchTrace(coordinator, 1001, JOB_TOKEN, fullTrace);
    const exchange = exchangeNamed('job-update-script-failure.json', 'final update accepted');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
    expect(coordinator.job(1001)).toMatchObject({ status: 'failed', failure_reason: 'script_failure', exit_code: 1 });
  });

  it('final success answered 202 while the trace is being persisted, then 200', async () => {
    const success = fixture<{ traceText: string }>('job-update-success.json');
    const job = { ...minimalJob, id: 1002, token: 'glcbt-64_FAKE-job-token-0001002' };
    const coordinator = await withRunningJob({ job });
    await patchTrace(coordinator, 1002, job.token, Buffer.from(success.traceText));
    coordinator.inject({ type: 'final-update-accepted', times: 1, jobId: 1002 });
    const first = exchangeNamed(
      'job-update-success.json',
      'server still persisting trace chunks: accepted, retry later',
    );
    expectResponse(await send(coordinator.url, first.request), first.response!);
    expect(coordinator.job(1002)?.status).toBe('running');
    const second = exchangeNamed('job-update-success.json', 'second attempt completes');
    expectResponse(await send(coordinator.url, second.request), second.response!);
    expect(coordinator.job(1002)?.status).toBe('success');
  });

  it('answers 202 with the back-off while the trace is shorter than the reported bytesize', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const coordinator = await withRunningJob({ clock: () => now });
    const exchange = exchangeNamed('job-update-script-failure.json', 'final update accepted');
    const intervals: string[] = [];
    for (const elapsed of [0, 5, 10, 20, 40, 70, 200]) {
      now = Date.parse('2026-01-01T00:00:00Z') + elapsed * 1000;
      const answer = await send(coordinator.url, exchange.request);
      expect(answer.status).toBe(202);
      intervals.push(String(answer.headers['x-gitlab-trace-update-interval']));
    }
    expect(intervals).toEqual(['1', '2', '4', '8', '16', '32', '64']);
    now += 301_000;
    expect((await send(coordinator.url, exchange.request)).status).toBe(200);
  });
});

describe('trace-patch-exchange.json', () => {
  const sequence = (prefix: string) => {
    const found = traceFixture.sequences.find((entry) => entry.name.startsWith(prefix));
    if (!found) throw new Error(`no sequence ${prefix}`);
    return found.exchanges;
  };

  it('A: normal appends and recovery from a lost response', async () => {
    const coordinator = await withRunningJob();
    for (const exchange of sequence('A')) {
      if (exchange.response === null) {
        coordinator.inject({ type: 'drop-trace-answer', jobId: 1001 });
        await expect(send(coordinator.url, exchange.request)).rejects.toThrow();
      } else {
        expectResponse(await send(coordinator.url, exchange.request), exchange.response);
      }
      if (exchange.serverStateAfter) expect(coordinator.trace(1001).length).toBe(exchange.serverStateAfter.storedBytes);
    }
    expect(coordinator.trace(1001).equals(fullTrace)).toBe(true);
    expect(coordinator.job(1001)?.trace).toBe(traceFixture.fullTraceText);
  });

  it('B: server is behind the client (it lost the second chunk)', async () => {
    const coordinator = await withRunningJob();
    await patchTrace(coordinator, 1001, JOB_TOKEN, fullTrace.subarray(0, 390));
    coordinator.inject({ type: 'lose-trace-tail', jobId: 1001, bytes: 180 });
    const [first, second] = sequence('B');
    expect(coordinator.trace(1001).length).toBe(first!.serverStateBefore!.storedBytes);
    expectResponse(await send(coordinator.url, first!.request), first!.response!);
    expectResponse(await send(coordinator.url, second!.request), second!.response!);
    expect(coordinator.trace(1001).equals(fullTrace)).toBe(true);
  });

  it('C: canceled, canceling, missing Content-Range', async () => {
    const [forced, graceful, missing] = sequence('C');
    const canceled = await withRunningJob();
    await patchTrace(canceled, 1001, JOB_TOKEN, fullTrace.subarray(0, 210));
    canceled.cancelJob(1001, { force: true });
    expectResponse(await send(canceled.url, forced!.request), forced!.response!);

    const canceling = await withRunningJob();
    await patchTrace(canceling, 1001, JOB_TOKEN, fullTrace.subarray(0, 210));
    canceling.cancelJob(1001);
    expectResponse(await send(canceling.url, graceful!.request), graceful!.response!);
    expectResponse(await send(canceling.url, missing!.request), missing!.response!);
  });

  it('masks the job token and the registration token with x of equal length', async () => {
    const coordinator = await withRunningJob({ registrationToken: 'GR1348941FAKE-registration-token' });
    const text = `token ${JOB_TOKEN} and GR1348941FAKE-registration-token end\n`;
    await patchTrace(coordinator, 1001, JOB_TOKEN, Buffer.from(text));
    const stored = coordinator.trace(1001).toString();
    expect(stored).toBe(`token ${'x'.repeat(JOB_TOKEN.length)} and ${'x'.repeat(32)} end\n`);
  });

  it('fails the job with trace_size_exceeded past the limit', async () => {
    const coordinator = await withRunningJob();
    coordinator.inject({ type: 'trace-size-limit', bytes: 100 });
    const answer = await send(coordinator.url, {
      method: 'PATCH',
      path: '/api/v4/jobs/1001/trace',
      headers: { 'JOB-TOKEN': JOB_TOKEN, 'Content-Range': '0-199' },
      bodyText: 'y'.repeat(200),
    });
    expect(answer.status).toBe(403);
    expect(coordinator.job(1001)).toMatchObject({ status: 'failed', failure_reason: 'trace_size_exceeded' });
  });
});
