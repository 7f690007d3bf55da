import { afterEach, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import { parseJob } from './payload.js';
import { FIXTURE_RUNNER, fixture, instantClock, startServer, type TestServer } from './testing/http-server.js';

interface InvalidCases {
  cases: { name: string; errorPath: string; payload: unknown }[];
}

let server: TestServer;
let client: JobApiClient;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

describe('job payload parsing (through @runnerkit/job-spec)', () => {
  it.each(['job-minimal.json', 'job-rich.json', 'job-run-steps.json', 'job-sparse.json'])('%s parses', (name) => {
    const result = parseJob(fixture(name));
    expect(result.ok).toBe(true);
  });

  it('typed fields: the rich job’s failure reasons, image and dependencies', () => {
    const result = parseJob(fixture('job-rich.json'));
    if (!result.ok) throw result.error;
    expect(result.job.features.failure_reasons).toContain('runner_system_failure');
    expect(result.job.image?.name).toBe('registry.gitlab.example.com/group/project/ruby:3.3');
    expect(result.job.dependencies.map((d) => d.id)).toEqual([1000, 999]);
  });

  it.each(fixture<InvalidCases>('job-invalid-cases.json').cases.map((c) => [c.name, c] as const))(
    '%s → error naming the field',
    (_name, testCase) => {
      const result = parseJob(testCase.payload);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('JOB_API_INVALID_JOB_PAYLOAD');
      expect(result.error.issues.map((i) => i.path)).toContain(testCase.errorPath);
      expect(result.error.message).toContain(testCase.errorPath);
      expect(result.error.message).not.toContain('glcbt-x');
    },
  );

  it('a malformed payload with a readable id and token is reported failed (runner_system_failure)', async () => {
    server = await startServer((request) => {
      if (request.path === '/api/v4/jobs/request') {
        return {
          status: 201,
          headers: { 'Content-Type': 'application/json' },
          body: { id: 1007, token: 'glcbt-64_FAKE-bad-job', steps: [{ name: 'script', script: 'echo hi' }] },
        };
      }
      if (request.method === 'PATCH') {
        return { status: 202, headers: { Range: `0-${request.body.length}` } };
      }
      const state = JSON.parse(request.body.toString()).state;
      return { status: 200, headers: { 'Job-Status': state === 'running' ? 'running' : 'failed' }, body: '200' };
    });
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock: instantClock() });
    const result = await client.requestJob({ token: 'glrt-FAKE-runner' });
    expect(result.kind).toBe('invalid-job');
    if (result.kind !== 'invalid-job') return;
    expect(result.healthy).toBe(true);
    expect(result.error.field).toBe('steps[0].script');
    expect(result.error.jobId).toBe(1007);
    expect(JSON.stringify(result.error)).not.toContain('glcbt-64_FAKE-bad-job');
    await expect(client.reportInvalidJob(result.error)).resolves.toBe(true);
    const calls = server.requests.slice(1);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /api/v4/jobs/1007',
      'PATCH /api/v4/jobs/1007/trace',
      'PUT /api/v4/jobs/1007',
    ]);
    expect(calls[1]!.body.toString()).toContain('steps[0].script');
    expect(JSON.parse(calls[2]!.body.toString())).toMatchObject({
      state: 'failed',
      failure_reason: 'runner_system_failure',
      token: 'glcbt-64_FAKE-bad-job',
    });
  });

  it('unreadable id or token: nothing can be reported; no crash', async () => {
    server = await startServer(() => ({
      status: 201,
      headers: { 'Content-Type': 'application/json' },
      body: { id: 'x', token: 'glcbt-y' },
    }));
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock: instantClock() });
    const result = await client.requestJob({ token: 'glrt-FAKE-runner' });
    expect(result.kind).toBe('invalid-job');
    if (result.kind !== 'invalid-job') return;
    expect(result.error.jobId).toBeUndefined();
    await expect(client.reportInvalidJob(result.error)).resolves.toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['not JSON', '{"id": 1,', 'JOB_API_BAD_RESPONSE'],
    ['an array', '[]', 'invalid-job'],
    ['null', 'null', 'invalid-job'],
  ])('a body that is %s never crashes the client', async (_name, body, expected) => {
    server = await startServer(() => ({ status: 201, headers: { 'Content-Type': 'application/json' }, body }));
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock: instantClock() });
    const result = await client.requestJob({ token: 'glrt-FAKE-runner' });
    if (expected === 'invalid-job') expect(result.kind).toBe('invalid-job');
    else
      expect(result).toMatchObject({
        kind: 'failed',
        reason: 'bad-response',
        healthy: true,
        error: { code: expected },
      });
  });
});
