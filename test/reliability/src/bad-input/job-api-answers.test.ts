// job-api-client against a node:http server that answers job requests and updates badly: every outcome is a typed
// result or a JobApiError, nothing hangs past the client's timeouts, and the runner token never shows.
import { createJobApiClient, JobApiError, type JobApiClient, parseJob } from '@runnerkit/job-api-client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPayloadSeeds } from '../support/fixtures.js';
import { flushFuzzCases, fuzzCase, fuzzParameters } from '../support/fuzz.js';
import { jsonMutation, mutateJson } from '../support/mutate.js';
import { type Answer, startHttpServer, type TestServer, writeAnswer } from '../support/servers.js';

const RUNNER_TOKEN = 'glrt-FuzzRunnerToken_0123456789';
const seeds = jobPayloadSeeds();
let server: TestServer;
let client: JobApiClient;

beforeAll(async () => {
  server = await startHttpServer((_request, response) => {
    response.writeHead(500).end();
  });
  client = createJobApiClient({
    url: server.url,
    runner: { executor: 'shell', shell: 'bash' },
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    headersTimeoutMs: 200,
    bodyTimeoutMs: 200,
    jobSession: {
      updateIntervalMs: 20,
      maxUpdateIntervalMs: 50,
      forceSendIntervalMs: 50,
      finalUpdateRetryLimit: 2,
      finalUpdateBackoff: { minMs: 1, maxMs: 5 },
    },
  });
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  flushFuzzCases();
});

const bodyArbitrary: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(jsonMutation, { maxLength: 3 })).map(([seed, mutations]) => {
    let payload = seeds[seed];
    for (const mutation of mutations) payload = mutateJson(payload, mutation);
    return Buffer.from(JSON.stringify(payload) ?? 'null');
  }),
  fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value) ?? '')),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    Buffer.from(''),
    Buffer.from('{"id": 1, "token": "'),
    Buffer.from(`{"message":"403 Forbidden ${RUNNER_TOKEN}"}`),
    Buffer.from(`<html>${RUNNER_TOKEN}</html>`),
    Buffer.from('\uFEFF{}'),
  ),
);

const answerArbitrary: fc.Arbitrary<Answer> = fc.record({
  behaviour: fc.constantFrom(
    'answer',
    'answer',
    'answer',
    'drop',
    'partial-body',
    'stall-headers',
    'stall-body',
    'wrong-length',
  ),
  status: fc.constantFrom(
    200,
    201,
    201,
    201,
    202,
    204,
    301,
    400,
    401,
    403,
    404,
    409,
    412,
    413,
    416,
    422,
    429,
    500,
    502,
    503,
    599,
  ),
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/html',
    'application/octet-stream',
    null,
  ),
  headers: fc.dictionary(
    fc.constantFrom(
      'retry-after',
      'ratelimit-resettime',
      'x-gitlab-last-update',
      'job-status',
      'range',
      'x-gitlab-trace-update-interval',
      'location',
    ),
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(
        '0',
        '-1',
        '99999999',
        'running',
        'canceled',
        '0-5',
        'Wed, 21 Oct 2015 07:28:00 GMT',
        'http://127.0.0.1:1/x',
      ),
    ),
    { maxKeys: 3 },
  ),
  body: bodyArbitrary,
});

function expectNoToken(value: unknown): void {
  const seen = new WeakSet<object>();
  const text = JSON.stringify(value, (_key, inner: unknown) => {
    if (inner instanceof Error)
      return {
        message: inner.message,
        code: (inner as { code?: unknown }).code,
        serverMessage: (inner as { serverMessage?: unknown }).serverMessage,
      };
    if (typeof inner === 'object' && inner !== null) {
      if (seen.has(inner)) return undefined;
      seen.add(inner);
    }
    return inner;
  });
  expect(text ?? '').not.toContain(RUNNER_TOKEN);
}

describe('job-api-client: a misbehaving GitLab', () => {
  it('requestJob resolves to job / invalid-job / no-job / failed with a JobApiError, never throws, never hangs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answerArbitrary, { minLength: 1, maxLength: 3 }), async (answers) => {
        fuzzCase();
        let index = 0;
        server.handler = (request, response) => {
          const answer = answers[Math.min(index, answers.length - 1)] as Answer;
          index += 1;
          writeAnswer(request, response, answer, 1_000);
        };
        const started = performance.now();
        const result = await client.requestJob({ token: RUNNER_TOKEN, systemId: 's_0123456789ab' });
        expect(performance.now() - started).toBeLessThan(3_000);
        switch (result.kind) {
          case 'job':
            expect(result.job.id).toBeGreaterThan(0);
            break;
          case 'invalid-job':
            expect(JobApiError.isInstance(result.error)).toBe(true);
            expect(result.error.code).toBe('JOB_API_INVALID_JOB_PAYLOAD');
            break;
          case 'no-job':
            break;
          case 'failed':
            expect(JobApiError.isInstance(result.error), String(result.error)).toBe(true);
            expect(typeof result.error.code).toBe('string');
            break;
        }
        expectNoToken(result.kind === 'failed' || result.kind === 'invalid-job' ? result.error : null);
      }),
      fuzzParameters(40, 5_000),
    );
  });

  it('a job session (acknowledge, trace, final update) ends with a typed outcome whatever the answers', async () => {
    const job = seeds[0] as { id: number; token: string };
    await fc.assert(
      fc.asyncProperty(fc.array(answerArbitrary, { minLength: 1, maxLength: 6 }), async (answers) => {
        fuzzCase();
        let index = 0;
        server.handler = (request, response) => {
          const answer = answers[index % answers.length] as Answer;
          index += 1;
          writeAnswer(request, response, answer, 400);
        };
        const parsed = parseJob(job);
        if (!parsed.ok) throw parsed.error;
        const session = client.startJob(parsed.job, { runnerToken: RUNNER_TOKEN });
        session.on('abort', () => undefined);
        const started = performance.now();
        let outcome: unknown;
        try {
          const acknowledged = await session.acknowledge();
          expect(['run', 'drop', 'cancel']).toContain(acknowledged);
          session.start();
          session.write(`hello ${'x'.repeat(100)}\n`);
          const finished = await session.finish({ state: 'failed', failureReason: 'script_failure', exitCode: 1 });
          expect(['delivered', 'aborted', 'gave-up', 'dropped']).toContain(finished.outcome);
          if (finished.error !== undefined) expect(JobApiError.isInstance(finished.error)).toBe(true);
          outcome = finished;
        } catch (error) {
          expect(JobApiError.isInstance(error), String(error)).toBe(true);
          outcome = error;
        } finally {
          session.dispose();
        }
        expect(performance.now() - started).toBeLessThan(8_000);
        expectNoToken(outcome);
      }),
      fuzzParameters(20, 10_000),
    );
  });
});
