// A job session whose trace is spooled to a file, against the real fake GitLab (@runnerkit/coordinator): 416s
// that rewind to early offsets are served from the file, the stored trace is byte-identical, and the file is
// gone however the session ends.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import type { JobApiError } from './errors.js';
import type { JobSession } from './job-session.js';
import type { JobPayload } from './payload.js';
import { FIXTURE_RUNNER, fixture, instantClock } from './testing/http-server.js';
import type { JobApiEvent } from './transport.js';

const MiB = 1024 * 1024;
let coordinator: Coordinator;
let client: JobApiClient;
let runnerToken: string;
let dir: string;
let spoolDir: string;
let events: JobApiEvent[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rk-spool-session-'));
  spoolDir = join(dir, 'traces');
  events = [];
});

afterEach(async () => {
  await client?.close();
  await coordinator?.close();
  await rm(dir, { recursive: true, force: true });
});

async function setup() {
  coordinator = await createCoordinator({ traceSizeLimitBytes: 256 * MiB });
  client = createJobApiClient({
    url: coordinator.url,
    runner: FIXTURE_RUNNER,
    clock: instantClock(),
    onEvent: (event) => events.push(event),
    jobSession: { updateIntervalMs: 5, maxUpdateIntervalMs: 5, traceSpool: { directory: spoolDir } },
  });
  runnerToken = coordinator.createRunner().token;
  await client.verify({ token: runnerToken, systemId: 's_0123456789ab' });
}

async function startJob(): Promise<{ job: JobPayload; session: JobSession }> {
  const { id: _id, token: _token, ...rest } = fixture<Record<string, unknown>>('job-minimal.json');
  coordinator.createJob(rest);
  const result = await client.requestJob({ token: runnerToken, systemId: 's_0123456789ab' });
  if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
  const session = client.startJob(result.job, { runnerToken });
  expect(await session.acknowledge()).toBe('run');
  session.start();
  return { job: result.job, session };
}

/** Random bytes without the job token (the coordinator masks it in stored traces). */
function traceData(bytes: number): Buffer {
  return randomBytes(bytes);
}

function writeInChunks(session: JobSession, data: Buffer, chunk = 64 * 1024): void {
  for (let at = 0; at < data.length; at += chunk) session.write(data.subarray(at, at + chunk));
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function spoolFiles(): Promise<string[]> {
  return readdir(spoolDir).catch(() => []);
}

async function until(probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('job session × coordinator with a trace spool', () => {
  it('a 24 MiB trace through 416s rewinding to early offsets arrives byte-identical; the file is then gone', async () => {
    await setup();
    const { job, session } = await startJob();
    const data = traceData(24 * MiB + 333);
    coordinator.inject({ type: 'drop-trace-answer', jobId: job.id, times: 2 });
    writeInChunks(session, data.subarray(0, 12 * MiB));
    await until(async () => {
      await session.flush();
      return session.sentOffset === 12 * MiB;
    });
    // While the job runs the trace is in one 0600 file of the spool directory.
    const files = await spoolFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^trace-${job.id}-[0-9a-f]{12}\\.log$`));
    expect((await stat(join(spoolDir, files[0] as string))).mode & 0o777).toBe(0o600);
    // The server loses all but the first 1,000,017 bytes: the client must re-send from there, out of the file.
    coordinator.inject({ type: 'lose-trace-tail', jobId: job.id, bytes: 12 * MiB - 1_000_017 });
    writeInChunks(session, data.subarray(12 * MiB, 18 * MiB));
    await session.flush(); // 416 Range 0-1000017
    expect(coordinator.trace(job.id).length).toBe(1_000_017);
    coordinator.inject({ type: 'drop-trace-answer', jobId: job.id, times: 1 });
    writeInChunks(session, data.subarray(18 * MiB));
    const result = await session.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    const stored = coordinator.trace(job.id);
    expect(stored.length).toBe(data.length);
    expect(sha256(stored)).toBe(sha256(data));
    const patches = coordinator.requests({ endpoint: 'trace', jobId: job.id });
    expect(patches.filter((r) => r.status === 416).length).toBeGreaterThanOrEqual(2);
    expect(patches.some((r) => r.headers['content-range'] === `1000017-${1_000_017 + MiB - 1}`)).toBe(true);
    expect(coordinator.job(job.id)).toMatchObject({ status: 'success' });
    expect(await spoolFiles()).toEqual([]);
    expect(events.filter((e) => e.type === 'warning')).toEqual([]);
  }, 30_000);

  it('no file is left after a failed job, a graceful cancel, a forced cancel or a dispose without finish', async () => {
    await setup();
    const ends: [string, (job: JobPayload, session: JobSession) => Promise<unknown>][] = [
      ['failed', (_job, session) => session.finish({ state: 'failed', failureReason: 'script_failure', exitCode: 1 })],
      [
        'canceled',
        async (job, session) => {
          coordinator.cancelJob(job.id);
          await until(() => session.cancelSignal.aborted);
          return session.finish({ state: 'failed', failureReason: 'job_canceled' });
        },
      ],
      [
        'forced',
        async (job, session) => {
          coordinator.cancelJob(job.id, { force: true });
          await until(() => session.signal.aborted);
          return session.finish({ state: 'failed', failureReason: 'job_canceled' });
        },
      ],
      ['disposed', (_job, session) => session.dispose()],
    ];
    const seen: Record<string, unknown> = {};
    for (const [name, end] of ends) {
      const { job, session } = await startJob();
      writeInChunks(session, traceData(3 * MiB + 1));
      await until(async () => (await spoolFiles()).length === 1);
      const outcome = (await end(job, session)) as { outcome?: string } | undefined;
      seen[name] = { outcome: outcome?.outcome, status: coordinator.job(job.id)?.status, files: await spoolFiles() };
      await session.dispose(); // what the runner always does last: safe after finish
    }
    expect(seen).toMatchInlineSnapshot(`
      {
        "canceled": {
          "files": [],
          "outcome": "delivered",
          "status": "canceled",
        },
        "disposed": {
          "files": [],
          "outcome": undefined,
          "status": "running",
        },
        "failed": {
          "files": [],
          "outcome": "delivered",
          "status": "failed",
        },
        "forced": {
          "files": [],
          "outcome": "aborted",
          "status": "canceled",
        },
      }
    `);
  }, 30_000);

  it('the spool directory removed mid-job: the trace still arrives whole and nothing is left', async () => {
    await setup();
    const { job, session } = await startJob();
    const data = traceData(6 * MiB + 5);
    writeInChunks(session, data.subarray(0, 3 * MiB));
    await until(async () => (await spoolFiles()).length === 1);
    await rm(spoolDir, { recursive: true, force: true });
    coordinator.inject({ type: 'lose-trace-tail', jobId: job.id, bytes: coordinator.trace(job.id).length });
    writeInChunks(session, data.subarray(3 * MiB));
    const result = await session.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    expect(sha256(coordinator.trace(job.id))).toBe(sha256(data));
    expect(await readdir(dir)).toEqual([]);
  }, 30_000);

  it('a spool directory that cannot be created: a warning, the trace kept in memory, delivered whole', async () => {
    await setup();
    spoolDir = '/dev/null/traces';
    await client.close();
    client = createJobApiClient({
      url: coordinator.url,
      runner: FIXTURE_RUNNER,
      clock: instantClock(),
      onEvent: (event) => events.push(event),
      jobSession: { updateIntervalMs: 5, maxUpdateIntervalMs: 5, traceSpool: { directory: spoolDir } },
    });
    const { job, session } = await startJob();
    const fallbacks: JobApiError[] = [];
    session.on('trace-spool-fallback', (error) => fallbacks.push(error));
    const data = traceData(5 * MiB);
    writeInChunks(session, data);
    const result = await session.finish({ state: 'success' });
    expect(result.outcome).toBe('delivered');
    expect(sha256(coordinator.trace(job.id))).toBe(sha256(data));
    expect(fallbacks.map((e) => e.code)).toEqual(['JOB_API_TRACE_SPOOL_FAILED']);
    expect(events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message)).toEqual([
      `job ${job.id}: trace spool in /dev/null/traces: ENOTDIR; keeping the rest of the trace in memory`,
    ]);
  }, 30_000);

  it('spooled bytes that cannot be read back: finish gives up with JOB_API_TRACE_SPOOL_FAILED, no file left', async () => {
    await setup();
    const { job, session } = await startJob();
    writeInChunks(session, traceData(4 * MiB));
    await session.flush();
    expect(session.sentOffset).toBe(4 * MiB);
    const [file] = await spoolFiles();
    await truncate(join(spoolDir, file as string), 0); // the file damaged behind the runner's back
    coordinator.inject({ type: 'lose-trace-tail', jobId: job.id, bytes: 4 * MiB });
    session.write('the last line\n'); // its PATCH gets 416 Range 0-0: everything must be read back
    const result = await session.finish({ state: 'success' });
    expect(result).toMatchObject({ outcome: 'gave-up', error: { code: 'JOB_API_TRACE_SPOOL_FAILED' } });
    expect(result.error?.message).toMatch(/^trace spool: cannot read bytes 0-1048575 back from .*: unexpected end/);
    expect(await spoolFiles()).toEqual([]);
  }, 30_000);
});
