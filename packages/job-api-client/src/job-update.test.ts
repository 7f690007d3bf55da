import { afterEach, describe, expect, it } from 'vitest';
import type { FailureReason } from '@runnerkit/job-spec';
import { createJobApiClient, type JobApiClient } from './client.js';
import {
  compareRequest,
  exchange,
  FIXTURE_RUNNER,
  fixture,
  instantClock,
  replyOf,
  startServer,
  type TestServer,
} from './testing/http-server.js';

const updates = fixture('job-update-exchanges.json');
const JOB = { jobId: 1001, jobToken: 'glcbt-64_FAKE-job-token-0001001' };
const GITLAB_REASONS = fixture<{ gitlab: string[] }>('failure-reasons.json').gitlab;

let server: TestServer;
let client: JobApiClient;
let clock: ReturnType<typeof instantClock>;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

async function setup(jobSession = {}) {
  server = await startServer();
  clock = instantClock();
  client = createJobApiClient({
    url: server.url,
    runner: FIXTURE_RUNNER,
    clock,
    jobSession: { updateIntervalMs: 60_000, maxUpdateIntervalMs: 60_000, ...jobSession },
  });
}

/** A trace of `n` bytes whose checksum the fixtures use (210 bytes → crc32:6533db35). */
function traceOf(bytes: number): Buffer {
  const text = fixture<{ fullTraceText: string }>('trace-patch-exchange.json').fullTraceText;
  return Buffer.from(text).subarray(0, bytes);
}

describe('acknowledgement (two-phase commit)', () => {
  it('200 → run; the body is the fixture body', async () => {
    await setup();
    const ex = exchange(updates, 'acknowledge a received job (two-phase commit)');
    server.handle(() => replyOf(ex));
    const job = client.createJobSession(JOB);
    await expect(job.acknowledge()).resolves.toBe('run');
    const { expected, actual } = compareRequest(updates, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
  });

  it('403 with Job-Status canceled → drop: nothing more is sent for the job', async () => {
    await setup();
    server.handle(() => replyOf(exchange(updates, 'acknowledge, but the job was canceled meanwhile')));
    const job = client.createJobSession(JOB);
    await expect(job.acknowledge()).resolves.toBe('drop');
    job.write('late output');
    const result = await job.finish({ state: 'failed', failureReason: 'job_canceled' });
    expect(result.outcome).toBe('dropped');
    expect(server.requests).toHaveLength(1);
  });

  it('Job-Status canceling → cancel; the final update maps job_canceled to unknown_failure', async () => {
    await setup();
    server.handle(() => ({ status: 200, headers: { 'Job-Status': 'canceling' }, body: '200' }));
    const job = client.createJobSession({ ...JOB, supportedFailureReasons: GITLAB_REASONS });
    await expect(job.acknowledge()).resolves.toBe('cancel');
    expect(job.cancelSignal.aborted).toBe(true);
    server.handle(() => ({ status: 200, headers: { 'Job-Status': 'canceled' }, body: '200' }));
    const result = await job.finish({ state: 'failed', failureReason: 'job_canceled' });
    expect(result).toMatchObject({ outcome: 'delivered', failureReason: 'unknown_failure' });
    expect(JSON.parse(server.requests[1]!.body.toString())).toMatchObject({
      state: 'failed',
      failure_reason: 'unknown_failure',
    });
  });

  it('409 or 5xx → run anyway (as GitLab Runner does)', async () => {
    await setup();
    server.handle(() => ({ status: 409, body: '409' }));
    await expect(client.createJobSession(JOB).acknowledge()).resolves.toBe('run');
  });
});

describe('keep-alive loop', () => {
  it('sends a running PUT with checksum and bytesize when nothing was sent for F', async () => {
    await setup({ updateIntervalMs: 10, maxUpdateIntervalMs: 10, forceSendIntervalMs: 30 });
    const ex = exchange(updates, 'keep-alive while no new output for 30 s');
    server.handle((request) =>
      request.method === 'PATCH' ? { status: 202, headers: { Range: '0-210' } } : replyOf(ex),
    );
    const job = client.createJobSession(JOB);
    job.write(traceOf(210));
    job.start();
    await waitFor(() => server.requests.some((r) => r.method === 'PUT'));
    job.dispose();
    const put = server.requests.find((r) => r.method === 'PUT')!;
    const { expected, actual } = compareRequest(updates, ex, put);
    expect(actual).toEqual(expected);
    expect(server.requests[0]!.method).toBe('PATCH');
  });

  it('FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: F = clamp(4 × U, 30 s, 30 min)', async () => {
    // forceSendIntervalMs 0 alone would send a PUT every tick; the dynamic rule replaces it.
    await setup({
      updateIntervalMs: 10,
      maxUpdateIntervalMs: 10,
      forceSendIntervalMs: 0,
      dynamicForceSendInterval: true,
    });
    server.handle(() => ({ status: 200, headers: { 'Job-Status': 'running' } }));
    const job = client.createJobSession(JOB);
    job.start();
    // With U = 10 ms, F is clamped to 30 s: no keep-alive PUT within a few ticks.
    await new Promise((resolve) => setTimeout(resolve, 100));
    job.dispose();
    expect(server.requests).toHaveLength(0);
  });

  it('a keep-alive answered with Job-Status canceling requests a graceful cancel (event once)', async () => {
    await setup({ updateIntervalMs: 5, maxUpdateIntervalMs: 5, forceSendIntervalMs: 0 });
    server.handle(() => replyOf(exchange(updates, 'keep-alive answered with cancel request')));
    const job = client.createJobSession(JOB);
    let cancels = 0;
    job.on('cancel-requested', () => cancels++);
    job.start();
    await waitFor(() => server.requests.length >= 3);
    job.dispose();
    expect(cancels).toBe(1);
    expect(job.cancelSignal.aborted).toBe(true);
    expect(job.signal.aborted).toBe(false);
  });

  it('a throwing listener does not end the loop (reported as a warning event)', async () => {
    server = await startServer(() => replyOf(exchange(updates, 'keep-alive answered with cancel request')));
    const warnings: string[] = [];
    client = createJobApiClient({
      url: server.url,
      runner: FIXTURE_RUNNER,
      onEvent: (event) => event.type === 'warning' && warnings.push(event.message),
      jobSession: { updateIntervalMs: 5, maxUpdateIntervalMs: 5, forceSendIntervalMs: 0 },
    });
    const job = client.createJobSession(JOB);
    job.on('cancel-requested', () => {
      throw new Error(`listener broke with ${JOB.jobToken}`);
    });
    job.start();
    await waitFor(() => server.requests.length >= 3);
    job.dispose();
    expect(warnings[0]).toBe('job 1001: update loop: listener broke with glcbt-[MASKED]');
  });

  it('force-cancel (403 canceled) aborts at once and stops the loop', async () => {
    await setup({ updateIntervalMs: 5, maxUpdateIntervalMs: 5, forceSendIntervalMs: 0 });
    server.handle(() => replyOf(exchange(updates, 'keep-alive when the job was force-canceled')));
    const job = client.createJobSession(JOB);
    const aborted = new Promise<string>((resolve) => job.on('abort', resolve));
    job.start();
    await expect(aborted).resolves.toContain('403');
    expect(job.signal.aborted).toBe(true);
    const count = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(server.requests.length).toBe(count);
  });

  it('an unknown job id answers 403: abort', async () => {
    await setup({ updateIntervalMs: 5, maxUpdateIntervalMs: 5, forceSendIntervalMs: 0 });
    server.handle(() => replyOf(exchange(updates, 'job id that does not exist')));
    const job = client.createJobSession({ ...JOB, jobId: 999999 });
    const aborted = new Promise<string>((resolve) => job.on('abort', resolve));
    job.start();
    await aborted;
    expect(server.requests[0]!.path).toBe('/api/v4/jobs/999999');
  });
});

describe('final update', () => {
  it('202 then 200: waits the server interval and sends the same PUT again', async () => {
    await setup();
    const success = fixture('job-update-success.json');
    const [first, second] = success.exchanges;
    let calls = 0;
    server.handle((request) => {
      if (request.method === 'PATCH') return { status: 202, headers: { Range: '0-106' } };
      return replyOf(++calls === 1 ? first! : second!);
    });
    const job = client.createJobSession({ jobId: 1002, jobToken: 'glcbt-64_FAKE-job-token-0001002' });
    // 106 bytes whose CRC-32 is 3a043f96 — the fixture's successful trace.
    job.write(successTrace());
    const result = await job.finish({ state: 'success' });
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 2, failureReason: undefined });
    const puts = server.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(2);
    expect(compareRequest(success, first!, puts[0]!).actual).toEqual(
      compareRequest(success, first!, puts[0]!).expected,
    );
    expect(compareRequest(success, second!, puts[1]!).actual).toEqual(
      compareRequest(success, second!, puts[1]!).expected,
    );
    expect(clock.sleeps).toContain(1000);
    // The trace was complete before the first PUT.
    expect(server.requests[0]!.method).toBe('PATCH');
  });

  it('412 re-sends the whole trace from offset 0, then the PUT', async () => {
    await setup();
    let puts = 0;
    server.handle((request) => {
      if (request.method === 'PATCH') {
        return { status: 202, headers: { Range: `0-${request.headers['content-range']!.split('-')[1]}` } };
      }
      return ++puts === 1 ? { status: 412 } : { status: 200, headers: { 'Job-Status': 'success' } };
    });
    const job = client.createJobSession(JOB);
    job.write('0123456789');
    const result = await job.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    expect(server.requests.map((r) => `${r.method} ${r.headers['content-range'] ?? ''}`)).toEqual([
      'PATCH 0-9',
      'PUT ',
      'PATCH 0-9',
      'PUT ',
    ]);
  });

  it('gives up after job_status_final_update_retry_limit failed attempts, backing off from 1 s', async () => {
    await setup({ finalUpdateRetryLimit: 3 });
    server.handle(() => ({ status: 500 }));
    const job = client.createJobSession(JOB);
    const result = await job.finish({ state: 'failed', failureReason: 'runner_system_failure' });
    expect(result.outcome).toBe('gave-up');
    expect(result.error?.code).toBe('JOB_API_FINAL_UPDATE_FAILED');
    // 3 attempts × 5 transport tries each.
    expect(server.requests).toHaveLength(15);
    const backoffs = clock.sleeps.filter((ms) => ms >= 1000 && ms !== 60_000);
    expect(backoffs).toEqual([1000, 2000]);
  });

  it('stops at the first 403 after an abort', async () => {
    await setup();
    server.handle(() => replyOf(exchange(updates, 'keep-alive when the job was force-canceled')));
    const job = client.createJobSession(JOB);
    job.write('some output');
    const result = await job.finish({ state: 'failed', failureReason: 'script_failure', exitCode: 2 });
    expect(result.outcome).toBe('aborted');
    // The PATCH of the final flush got 403: the PUT would be refused too, so nothing more is sent (§9.3).
    expect(server.requests.map((r) => r.method)).toEqual(['PATCH']);
  });

  it('a 404 on the final flush still sends the PUT', async () => {
    await setup();
    server.handle((request) => (request.method === 'PATCH' ? { status: 404 } : { status: 200 }));
    const job = client.createJobSession(JOB);
    job.write('some output');
    const result = await job.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    expect(server.requests.map((r) => r.method)).toEqual(['PATCH', 'PUT']);
  });

  it.each<[FailureReason | '', string[], string]>([
    ['image_pull_failure', GITLAB_REASONS, 'runner_system_failure'],
    ['runner_configuration_error', [], 'script_failure'],
    ['', GITLAB_REASONS, 'script_failure'],
    ['trace_size_exceeded', GITLAB_REASONS, 'trace_size_exceeded'],
    ['runner_interrupted', ['script_failure'], 'unknown_failure'],
  ])('failure_reason %j with the server list maps to %s', async (reason, supported, sent) => {
    await setup();
    server.handle(() => ({ status: 200, headers: { 'Job-Status': 'failed' } }));
    const job = client.createJobSession({ ...JOB, supportedFailureReasons: supported });
    const result = await job.finish({ state: 'failed', failureReason: reason, exitCode: 0 });
    const body = JSON.parse(server.requests[0]!.body.toString());
    expect(body.failure_reason).toBe(sent);
    expect(body).not.toHaveProperty('exit_code');
    expect(result.failureReason).toBe(sent);
  });
});

function successTrace(): string {
  return fixture<{ traceText: string }>('job-update-success.json').traceText;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
