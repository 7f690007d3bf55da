import { afterEach, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import { HealthTracker } from './health.js';
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

const TOKEN = 'glrt-FAKE-created-runner-token-01';
const SYSTEM_ID = 's_0123456789ab';
const file = fixture('job-request-exchanges.json');

let server: TestServer;
let client: JobApiClient;
let clock: ReturnType<typeof instantClock>;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

async function setup() {
  server = await startServer();
  clock = instantClock();
  client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock });
}

/** Brings the client to the fixture's `last_update` state. */
async function primeLastUpdate() {
  server.handle(() => replyOf(exchange(file, 'first poll, no last_update yet, no job')));
  await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
  server.requests.length = 0;
}

describe('job request (POST /api/v4/jobs/request)', () => {
  it('first poll: the body is the fixture body; 204 stores X-GitLab-Last-Update', async () => {
    await setup();
    const ex = exchange(file, 'first poll, no last_update yet, no job');
    server.handle(() => replyOf(ex));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    const { expected, actual } = compareRequest(file, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(server.requests[0]!.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(server.requests[0]!.headers['user-agent']).toMatch(
      /^runnerkit 0\.1\.0 \(main; node-v\d+\.\d+\.\d+; linux\/amd64\)$/,
    );
    expect(result).toEqual({
      kind: 'no-job',
      healthy: true,
      lastUpdate: '8ad3c5d1b2e64f0a9c7e1d2f3a4b5c6d',
      longPolling: false,
    });
    // The next request echoes the value: its whole body equals job-request-body.json.
    await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(JSON.parse(server.requests[1]!.body.toString())).toEqual(fixture('job-request-body.json'));
  });

  it('a long-poll 204 without the header keeps the stored value', async () => {
    await setup();
    await primeLastUpdate();
    const ex = exchange(file, 'nothing changed (long poll expired)');
    server.handle(() => replyOf(ex));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(compareRequest(file, ex, server.requests[0]!).actual).toEqual(
      compareRequest(file, ex, server.requests[0]!).expected,
    );
    // Gitlab-Ci-Builds-Polling: yes marks the long-polling layer's answer: the runner asks again at once
    expect(result).toMatchObject({ kind: 'no-job', lastUpdate: '8ad3c5d1b2e64f0a9c7e1d2f3a4b5c6d', longPolling: true });
    expect(client.lastRequestLongPolled(TOKEN)).toBe(true);
  });

  it('paused runner: 204 with a new queue value replaces the stored one', async () => {
    await setup();
    await primeLastUpdate();
    server.handle(() => replyOf(exchange(file, 'runner is paused')));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(result).toMatchObject({ kind: 'no-job', lastUpdate: '0f0e0d0c0b0a09080706050403020100' });
    expect(client.lastUpdate(TOKEN)).toBe('0f0e0d0c0b0a09080706050403020100');
  });

  it('201 with a job: the payload comes back parsed', async () => {
    await setup();
    await primeLastUpdate();
    const ex = exchange(file, 'job assigned');
    server.handle(() => replyOf(ex));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(compareRequest(file, ex, server.requests[0]!).actual).toEqual(
      compareRequest(file, ex, server.requests[0]!).expected,
    );
    expect(result.kind).toBe('job');
    if (result.kind !== 'job') return;
    expect(result.job.id).toBe(1001);
    expect(result.raw).toEqual(fixture('job-minimal.json'));
  });

  it('201 with the wrong content type is a failed, healthy request', async () => {
    await setup();
    server.handle(() => replyOf(exchange(file, 'job assigned but wrong content type')));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(result).toMatchObject({ kind: 'failed', reason: 'bad-response', status: 201, healthy: true });
    if (result.kind === 'failed') {
      expect(result.error.code).toBe('JOB_API_BAD_RESPONSE');
      expect(result.error.message).toContain('server should return application/json');
    }
  });

  it.each([
    ['runner token invalid', 'forbidden', 403, false],
    ['orphaned runner (owner project/group gone)', 'status', 422, true],
    ['race with another runner', 'status', 409, true],
  ])('%s → %s, healthy=%s', async (name, reason, status, healthy) => {
    await setup();
    await primeLastUpdate();
    const ex = exchange(file, name);
    server.handle(() => replyOf(ex));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(compareRequest(file, ex, server.requests[0]!).actual).toEqual(
      compareRequest(file, ex, server.requests[0]!).expected,
    );
    expect(result).toMatchObject({ kind: 'failed', reason, status, healthy });
    expect(server.requests).toHaveLength(1);
    if (result.kind === 'failed') expect(result.error.message).not.toContain('FAKE-created');
  });

  it('429 with Retry-After: 5 attempts with the same X-Request-Id, waiting Retry-After seconds; then healthy', async () => {
    await setup();
    await primeLastUpdate();
    server.handle(() => replyOf(exchange(file, 'rate limited')));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(server.requests).toHaveLength(5);
    expect(new Set(server.requests.map((r) => r.headers['x-request-id'])).size).toBe(1);
    expect(clock.sleeps).toEqual([60_000, 60_000, 60_000, 60_000]);
    expect(result).toMatchObject({ kind: 'failed', status: 429, healthy: true });
  });

  it('503: exponential backoff from 100 ms, then "GitLab instance currently unavailable", healthy', async () => {
    await setup();
    server.handle(() => replyOf(exchange(file, 'server unavailable')));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(server.requests).toHaveLength(5);
    expect(clock.sleeps).toHaveLength(4);
    expect(clock.sleeps[0]).toBe(100);
    for (const [i, ms] of clock.sleeps.entries()) {
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(ms).toBeLessThanOrEqual(100 * 2 ** i);
    }
    expect(result).toMatchObject({ kind: 'failed', reason: 'unavailable', healthy: true });
    if (result.kind === 'failed') expect(result.error.message).toContain('GitLab instance currently unavailable');
  });

  it('a 503 that recovers returns the job', async () => {
    await setup();
    let calls = 0;
    server.handle(() => (++calls < 3 ? { status: 503 } : replyOf(exchange(file, 'job assigned'))));
    const result = await client.requestJob({ token: TOKEN, systemId: SYSTEM_ID });
    expect(result.kind).toBe('job');
    expect(server.requests).toHaveLength(3);
  });

  it('connection refused is "no answer": failed but healthy; a bad URL is a client error: unhealthy', async () => {
    await setup();
    const origin = server.origin;
    await server.close();
    const refused = createJobApiClient({ url: origin, runner: FIXTURE_RUNNER, clock });
    const result = await refused.requestJob({ token: TOKEN });
    expect(result).toMatchObject({ kind: 'failed', reason: 'no-answer', healthy: true });
    await refused.close();
    const bad = createJobApiClient({ url: 'ftp://gitlab.example.com', runner: FIXTURE_RUNNER });
    const badResult = await bad.requestJob({ token: TOKEN });
    expect(badResult).toMatchObject({ kind: 'failed', reason: 'client-error', healthy: false });
    server = await startServer();
  });

  it('health: unhealthy_requests_limit consecutive 403s stop polling for unhealthy_interval', async () => {
    await setup();
    await client.close();
    let now = 1_000_000;
    client = createJobApiClient({
      url: server.url,
      runner: FIXTURE_RUNNER,
      clock: { now: () => now, sleep: async () => {} },
      health: { unhealthyRequestsLimit: 3, unhealthyIntervalMs: 60 * 60_000 },
    });
    server.handle(() => replyOf(exchange(file, 'runner token invalid')));
    const health = client.health(TOKEN);
    for (let i = 0; i < 3; i++) {
      expect(health.canRequest()).toBe(true);
      await client.requestJob({ token: TOKEN });
    }
    expect(health.snapshot()).toMatchObject({ consecutiveFailures: 3, healthy: false });
    expect(health.canRequest()).toBe(false);
    now += 60 * 60_000;
    expect(health.canRequest()).toBe(true);
    expect(health.snapshot().consecutiveFailures).toBe(0);
    server.handle(() => replyOf(exchange(file, 'first poll, no last_update yet, no job')));
    await client.requestJob({ token: TOKEN });
    expect(health.snapshot()).toMatchObject({ consecutiveFailures: 0, healthy: true });
  });

  it('a healthy answer resets the count', () => {
    const tracker = new HealthTracker({ unhealthyRequestsLimit: 3 });
    tracker.record(false);
    tracker.record(false);
    tracker.record(true);
    tracker.record(false);
    expect(tracker.snapshot()).toMatchObject({ consecutiveFailures: 1, healthy: true });
  });

  it('the caller’s abort stops a long poll at once', async () => {
    await setup();
    server.handle(() => new Promise(() => {}));
    const controller = new AbortController();
    const pending = client.requestJob({ token: TOKEN, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'JOB_API_ABORTED' });
  });
});
