// A graceful cancel of a job printing fast around the 4 MiB output limit, through the library path the runner
// uses (job-runtime's runJob with the shell executor, job-api-client's session, the coordinator): the stored trace
// is exactly what the trace writer produced (size and CRC-32 of the final update), and it ends with the job's tail —
// the after_script output and `ERROR: Job failed: canceled` below the limit, the limit notice past it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { createJobApiClient, type JobApiClient } from '@runnerkit/job-api-client';
import { createShellExecutor, runJob } from '@runnerkit/job-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from '../support/count.js';
import { finalOutput } from '../support/trace-integrity.js';

const SYSTEM_ID = 's_0123456789ab';
const NOTICE =
  "\n\x1b[33;1mJob's log exceeded limit of 4194304 bytes.\nJob execution will continue but no more output will be collected.\x1b[0;m\n";

let coordinator: Coordinator;
let client: JobApiClient;
let token: string;
let dir: string;

beforeAll(async () => {
  coordinator = await createCoordinator({ traceUpdateIntervalSeconds: 1 });
  dir = await mkdtemp(join(tmpdir(), 'runnerkit-reliability-tail-'));
  client = createJobApiClient({ url: coordinator.url, runner: { executor: 'shell', shell: 'bash' } });
  token = coordinator.createRunner().token;
  await client.verify({ token, systemId: SYSTEM_ID });
});
afterAll(async () => {
  await client?.close();
  await coordinator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs one job that prints `lines` lines of 74 bytes as fast as bash can, canceled once `cancelAt` bytes are stored. */
async function cancelFastPrinter(lines: number, cancelAt: number) {
  const script = `i=1; while [ $i -le ${lines} ]; do printf "tail %05d %s\\n" $i "${'x'.repeat(62)}"; i=$((i+1)); done`;
  coordinator.createJob({
    job_info: { name: 'tail', stage: 'test', project_id: 1, project_name: 'p', project_full_path: 'g/p' },
    git_info: { repo_url: 'https://gitlab.invalid/g/p.git', ref: 'main', sha: 'a'.repeat(40) },
    runner_info: { timeout: 600 },
    variables: [
      { key: 'GIT_STRATEGY', value: 'none', public: true },
      { key: 'FF_TIMESTAMPS', value: 'false', public: true },
    ],
    steps: [
      { name: 'script', script: [script], timeout: 600, when: 'on_success', allow_failure: false },
      { name: 'after_script', script: ['echo after-script-ran'], timeout: 600, when: 'always', allow_failure: false },
    ],
    features: { trace_sections: true },
  });
  const request = await client.requestJob({ token, systemId: SYSTEM_ID });
  if (request.kind !== 'job') throw new Error(`expected a job, got ${request.kind}`);
  const job = request.job;
  const session = client.startJob(job, { runnerToken: token });
  expect(await session.acknowledge()).toBe('run');
  session.start();
  let canceled = false;
  const watcher = (async () => {
    for (;;) {
      const status = coordinator.job(job.id)?.status ?? '';
      if (['success', 'failed', 'canceled'].includes(status)) return;
      if (coordinator.trace(job.id).length > cancelAt) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    coordinator.cancelJob(job.id);
    canceled = true;
    count('faultsInjected');
  })();
  const result = await runJob({
    payload: job,
    executor: createShellExecutor({ buildsDir: join(dir, 'builds'), cacheDir: join(dir, 'cache') }),
    trace: { write: (chunk) => session.write(chunk) },
    runner: { version: '0.1.0', revision: 'reliability', token },
    cancelSignal: session.cancelSignal,
    abortSignal: session.abortSignal,
  });
  await watcher;
  const finish = await session.finish(
    result.outcome.status === 'success'
      ? { state: 'success' }
      : { state: 'failed', failureReason: result.outcome.failureReason },
  );
  session.dispose();
  count('jobsRun');
  const stored = coordinator.trace(job.id);
  count('traceBytesChecked', stored.length);
  return { id: job.id, result, finish, stored, canceled };
}

describe('graceful cancel around the output limit: the stored trace keeps its tail', () => {
  // 5 000 bytes: canceled early; 3.9 MB and 4.15 MB: just below the limit, while the job may be crossing it
  it.each([5_000, 3_900_000, 4_150_000])('canceled once %i bytes are stored', async (cancelAt) => {
    const { id, result, finish, stored, canceled } = await cancelFastPrinter(80_000, cancelAt);
    expect(canceled).toBe(true);
    expect(finish.outcome).toBe('delivered');
    expect(coordinator.job(id)?.status).toBe('canceled');
    // every byte the trace writer produced is stored, once
    expect(stored.length).toBe(result.trace.bytesize);
    expect(`crc32:${crc32(stored).toString(16).padStart(8, '0')}`).toBe(result.trace.checksum);
    expect(finalOutput(coordinator, id)).toEqual({ checksum: result.trace.checksum, bytesize: stored.length });
    const text = stored.toString('utf8');
    if (result.trace.truncated) {
      // past the limit GitLab keeps nothing more, after_script included: the notice is the last thing stored
      expect(text.endsWith(NOTICE)).toBe(true);
      expect(text).not.toContain('after-script-ran');
    } else {
      expect(text.slice(-3000)).toContain('after-script-ran');
      expect(text.endsWith('\x1b[31;1mERROR: Job failed: canceled\x1b[0;m\n')).toBe(true);
    }
  });
});
