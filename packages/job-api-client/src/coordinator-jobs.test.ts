// The client against the real fake GitLab (@runnerkit/coordinator): a job's life — acknowledgement, trace,
// keep-alive, cancellation, final update — with injected faults, and artifacts.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobArtifactStore } from './artifact-store.js';
import { createJobApiClient, type JobApiClient } from './client.js';
import type { JobApiError } from './errors.js';
import type { JobPayload } from './payload.js';
import { FIXTURE_RUNNER, fixture, instantClock } from './testing/http-server.js';

let coordinator: Coordinator;
let client: JobApiClient;
let runnerToken: string;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rk-coord-jobs-'));
});

afterEach(async () => {
  await client?.close();
  await coordinator?.close();
  await rm(dir, { recursive: true, force: true });
});

async function setup(options: Parameters<typeof createCoordinator>[0] = {}, jobSession = {}) {
  coordinator = await createCoordinator(options);
  client = createJobApiClient({
    url: coordinator.url,
    runner: FIXTURE_RUNNER,
    clock: instantClock(),
    jobSession: { updateIntervalMs: 20, maxUpdateIntervalMs: 20, ...jobSession },
  });
  runnerToken = coordinator.createRunner().token;
  // Register this runner manager with its features (cancel_gracefully, two_phase_job_commit).
  await client.verify({ token: runnerToken, systemId: 's_0123456789ab' });
}

function payload(name = 'test'): Record<string, unknown> {
  const { id: _id, token: _token, ...rest } = fixture<Record<string, unknown>>('job-minimal.json');
  return { ...rest, job_info: { ...(rest.job_info as object), name } };
}

async function receiveJob(): Promise<JobPayload> {
  const result = await client.requestJob({ token: runnerToken, systemId: 's_0123456789ab' });
  if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
  return result.job;
}

describe('client × coordinator: a job’s life', () => {
  it('acknowledge, stream the trace, finish: the server has the exact bytes and the state', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    expect(coordinator.job(job.id)!.status).toBe('pending');
    const session = client.startJob(job, { runnerToken });
    await expect(session.acknowledge()).resolves.toBe('run');
    expect(coordinator.job(job.id)!.status).toBe('running');
    session.start();
    const lines = ['\x1b[32;1m$ echo hello\x1b[0;m\n', 'hello ✓\n', '\x1b[32;1mJob succeeded\x1b[0;m\n'];
    for (const line of lines) session.write(line);
    const result = await session.finish({ state: 'success' });
    expect(result).toMatchObject({ outcome: 'delivered' });
    const view = coordinator.job(job.id)!;
    expect(view.status).toBe('success');
    expect(coordinator.trace(job.id).toString()).toBe(lines.join(''));
    const final = coordinator.requests({ endpoint: 'job-update', jobId: job.id }).at(-1)!;
    expect(JSON.parse(final.body.toString())).toMatchObject({
      state: 'success',
      checksum: session.checksum,
      output: { checksum: session.checksum, bytesize: Buffer.byteLength(lines.join('')) },
    });
  });

  it('failed with script_failure and exit code 1', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.write('boom\n');
    await session.finish({ state: 'failed', failureReason: 'script_failure', exitCode: 1 });
    expect(coordinator.job(job.id)).toMatchObject({ status: 'failed', failure_reason: 'script_failure', exit_code: 1 });
  });

  it('graceful cancel: canceling arrives as cancelSignal; the final update moves the job to canceled', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.start();
    const requested = new Promise<void>((resolve) => session.on('cancel-requested', resolve));
    coordinator.cancelJob(job.id);
    expect(coordinator.job(job.id)!.status).toBe('canceling');
    session.write('still running after_script\n');
    await requested;
    expect(session.cancelSignal.aborted).toBe(true);
    expect(session.signal.aborted).toBe(false);
    const result = await session.finish({ state: 'failed', failureReason: 'job_canceled' });
    expect(result).toMatchObject({ outcome: 'delivered', failureReason: 'unknown_failure' });
    expect(coordinator.job(job.id)!.status).toBe('canceled');
  });

  it('force cancel: 403 aborts (signal + event); the final update stops at the first 403', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.start();
    const aborted = new Promise<string>((resolve) => session.on('abort', resolve));
    coordinator.cancelJob(job.id, { force: true });
    session.write('output\n');
    expect(await aborted).toContain('403');
    expect(session.signal.aborted).toBe(true);
    const before = coordinator.requests({ jobId: job.id }).length;
    const result = await session.finish({ state: 'failed', failureReason: 'job_canceled' });
    expect(result.outcome).toBe('aborted');
    expect(coordinator.requests({ jobId: job.id }).length - before).toBe(1);
  });

  it('a job canceled before the acknowledgement is dropped silently', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    coordinator.cancelJob(job.id, { force: true });
    const session = client.startJob(job);
    await expect(session.acknowledge()).resolves.toBe('drop');
  });

  it('a dropped acknowledgement: the job runs, the final update re-sends state=running first, the job succeeds', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    coordinator.inject({ type: 'drop', endpoint: 'job-update', jobId: job.id, times: 1 });
    await expect(session.acknowledge()).resolves.toBe('run');
    expect(session.isAcknowledged).toBe(false);
    expect(coordinator.job(job.id)!.status).toBe('pending');
    session.write('ran anyway\n');
    const result = await session.finish({ state: 'success' });
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 1 });
    expect(coordinator.job(job.id)).toMatchObject({ status: 'success', trace: 'ran anyway\n' });
    const updates = coordinator
      .requests({ endpoint: 'job-update', jobId: job.id })
      .map((request) => `${JSON.parse(request.body.toString()).state} ${request.status}`);
    // the dropped acknowledgement was never answered (status 0), the re-sent one is
    expect(updates.slice(1)).toEqual(['running 200', 'success 200']);
  });

  it('a dropped acknowledgement is re-sent by the next keep-alive tick, without waiting for F', async () => {
    await setup({}, { updateIntervalMs: 20, forceSendIntervalMs: 60_000 });
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    coordinator.inject({ type: 'drop', endpoint: 'job-update', jobId: job.id, times: 1 });
    await expect(session.acknowledge()).resolves.toBe('run');
    session.start();
    await until(() => coordinator.job(job.id)!.status === 'running');
    expect(session.isAcknowledged).toBe(true);
    const before = coordinator.requests({ endpoint: 'job-update', jobId: job.id }).length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    // acknowledged: back to keep-alives every F only
    expect(coordinator.requests({ endpoint: 'job-update', jobId: job.id }).length).toBe(before);
    await session.finish({ state: 'success' });
    expect(coordinator.job(job.id)!.status).toBe('success');
  });

  it('a 400 on the final update is a failed attempt, retried (not an abort)', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.write('x\n');
    coordinator.inject({
      type: 'respond',
      endpoint: 'job-update',
      jobId: job.id,
      times: 1,
      status: 400,
      bodyText: '400',
    });
    const result = await session.finish({ state: 'success' });
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 2 });
    expect(coordinator.job(job.id)!.status).toBe('success');
  });

  it('final update answered 202 (back-off) until accepted', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.write('done\n');
    coordinator.inject({ type: 'final-update-accepted', times: 3, jobId: job.id });
    const result = await session.finish({ state: 'success' });
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 4 });
    expect(coordinator.job(job.id)!.status).toBe('success');
  });

  it('412 on the final update re-sends the whole trace', async () => {
    await setup();
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.write('abc\n');
    await session.flush();
    coordinator.inject({
      type: 'respond',
      endpoint: 'job-update',
      jobId: job.id,
      status: 412,
      body: { message: '412' },
    });
    const result = await session.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    const ranges = coordinator.requests({ endpoint: 'trace', jobId: job.id }).map((r) => r.headers['content-range']);
    expect(ranges).toEqual(['0-3', '0-3']);
  });

  it('keep-alive PUTs flow while there is no output; X-GitLab-Trace-Update-Interval is honoured', async () => {
    await setup({ traceUpdateIntervalSeconds: 1 }, { forceSendIntervalMs: 0, maxUpdateIntervalMs: 5000 });
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    session.write('x');
    session.start();
    await until(() => coordinator.requests({ endpoint: 'job-update', jobId: job.id }).length >= 2);
    expect(session.updateIntervalMs).toBe(1000);
    session.dispose();
  });

  it('a 50 MB trace through lost answers, dropped connections and a lost tail arrives byte-identical', async () => {
    await setup({}, { updateIntervalMs: 1, maxUpdateIntervalMs: 1 });
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    const data = randomBytes(50 * 1024 * 1024);
    // Keep the job token out of the random data: the coordinator masks it in stored traces.
    coordinator.inject([
      { type: 'drop-trace-answer', jobId: job.id, times: 3 },
      { type: 'drop', endpoint: 'trace', jobId: job.id, times: 2 },
      { type: 'respond', endpoint: 'trace', jobId: job.id, times: 1, status: 500, bodyText: 'oops' },
    ]);
    const half = 25 * 1024 * 1024;
    session.write(data.subarray(0, half));
    await session.flush();
    await session.flush();
    coordinator.inject({ type: 'lose-trace-tail', jobId: job.id, bytes: 3 * 1024 * 1024 + 17 });
    coordinator.inject({ type: 'drop-trace-answer', jobId: job.id, times: 2 });
    session.write(data.subarray(half));
    const result = await session.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    const stored = coordinator.trace(job.id);
    expect(stored.length).toBe(data.length);
    expect(stored.equals(data)).toBe(true);
    const statuses = coordinator.requests({ endpoint: 'trace', jobId: job.id }).map((r) => r.status);
    expect(statuses).toContain(416);
    expect(statuses).toContain(null);
    expect(coordinator.job(job.id)!.status).toBe('success');
  }, 30_000);
});

describe('client × coordinator: artifacts', () => {
  it('upload (zip from a file, gzip report from a stream) and download with a dependency token', async () => {
    await setup();
    coordinator.createJob(payload('build'));
    coordinator.createJob(payload('test'));
    const build = await receiveJob();
    const buildSession = client.startJob(build);
    await buildSession.acknowledge();
    const archive = Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(200_000)]);
    const path = join(dir, 'build.zip');
    await writeFile(path, archive);
    await client.uploadArtifact({
      jobId: build.id,
      jobToken: build.token,
      source: { path },
      name: 'build-$CI_JOB_ID',
      format: 'zip',
      type: 'archive',
      expireIn: '1 week',
    });
    await client.uploadArtifact({
      jobId: build.id,
      jobToken: build.token,
      source: { stream: () => Readable.from([Buffer.from([0x1f, 0x8b, 8, 0, 1, 2])]) },
      name: 'junit.xml',
      format: 'gzip',
      type: 'junit',
      expireIn: '1 week',
    });
    expect(coordinator.job(build.id)!.artifacts).toMatchObject([
      { artifact_type: 'archive', artifact_format: 'zip', size: archive.length, expire_in: '1 week' },
      { artifact_type: 'junit', artifact_format: 'gzip', expire_in: '1 week' },
    ]);
    await buildSession.finish({ state: 'success' });

    const test = await receiveJob();
    const testSession = client.startJob(test);
    await testSession.acknowledge();
    const destination = join(dir, 'dep.zip');
    const downloaded = await client.downloadArtifact({ jobId: build.id, jobToken: test.token, destination });
    expect(downloaded).toMatchObject({ bytes: archive.length, format: 'zip' });
    expect((await readFile(destination)).equals(archive)).toBe(true);
    // A token that is not a running job's may not read: 403 once the job finished; unknown token 401.
    await testSession.finish({ state: 'success' });
    const afterwards = await client
      .downloadArtifact({ jobId: build.id, jobToken: test.token, destination: join(dir, 'x') })
      .catch((e: unknown) => e as JobApiError);
    expect((afterwards as JobApiError).code).toBe('JOB_API_ARTIFACT_FORBIDDEN');
    const unknown = await client
      .downloadArtifact({ jobId: build.id, jobToken: 'glcbt-unknown', destination: join(dir, 'y') })
      .catch((e: unknown) => e as JobApiError);
    expect((unknown as JobApiError).code).toBe('JOB_API_ARTIFACT_UNAUTHORIZED');
    expect((unknown as JobApiError).message).not.toContain('glcbt-unknown');
  });

  it('413 → too large; no archive → 404; finished job → 403; injected 503s are retried', async () => {
    await setup({ maxArtifactSizeBytes: 1000 });
    coordinator.createJob(payload());
    const job = await receiveJob();
    const session = client.startJob(job);
    await session.acknowledge();
    const big = await client
      .uploadArtifact({
        jobId: job.id,
        jobToken: job.token,
        source: { stream: () => Readable.from([randomBytes(5000)]) },
      })
      .catch((e: unknown) => e as JobApiError);
    expect((big as JobApiError).code).toBe('JOB_API_ARTIFACT_TOO_LARGE');
    const missing = await client
      .downloadArtifact({ jobId: job.id, jobToken: job.token, destination: join(dir, 'm') })
      .catch((e: unknown) => e as JobApiError);
    expect((missing as JobApiError).code).toBe('JOB_API_ARTIFACT_NOT_FOUND');
    coordinator.inject({
      type: 'respond',
      endpoint: 'artifacts-upload',
      times: 6,
      status: 503,
      body: { message: 'x' },
    });
    const ok = await client.uploadArtifact({
      jobId: job.id,
      jobToken: job.token,
      source: { stream: () => Readable.from([Buffer.from('PK')]) },
      retryDelayMs: { minMs: 1, maxMs: 2 },
    });
    expect(ok.tries).toBe(2);
    await session.finish({ state: 'success' });
    const late = await client
      .uploadArtifact({ jobId: job.id, jobToken: job.token, source: { stream: () => Readable.from(['PK']) } })
      .catch((e: unknown) => e as JobApiError);
    expect((late as JobApiError).code).toBe('JOB_API_ARTIFACT_FORBIDDEN');
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('client × coordinator: the runtime’s artifact port', () => {
  it('uploads a one-pass body (spooled, so retries can resend it) and downloads a dependency as a stream', async () => {
    await setup();
    coordinator.createJob(payload('build'));
    coordinator.createJob(payload('test'));
    const build = await receiveJob();
    const session = client.startJob(build);
    await session.acknowledge();
    const store = createJobArtifactStore(client, { jobId: build.id, jobToken: build.token, temporaryDirectory: dir });
    const content = Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(70_000)]);
    coordinator.inject({
      type: 'respond',
      endpoint: 'artifacts-upload',
      times: 1,
      status: 400,
      body: { message: 'x' },
    });
    async function* once() {
      yield content.subarray(0, 1000);
      yield content.subarray(1000);
    }
    await store.upload({
      name: 'default.zip',
      artifactType: 'archive',
      artifactFormat: 'zip',
      expireIn: '1 day',
      body: once(),
    });
    expect(coordinator.job(build.id)!.artifacts).toMatchObject([{ filename: 'default.zip', size: content.length }]);
    await session.finish({ state: 'success' });
    const test = await receiveJob();
    const testSession = client.startJob(test);
    await testSession.acknowledge();
    const testStore = createJobArtifactStore(client, { jobId: test.id, jobToken: test.token, temporaryDirectory: dir });
    const chunks: Buffer[] = [];
    for await (const chunk of await testStore.download({ id: build.id, token: test.token, name: 'build' })) {
      chunks.push(Buffer.from(chunk));
    }
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    await testSession.finish({ state: 'success' });
  });
});
