// Coordinator faults while jobs run through the real runner path (`runnerkit run`, shell executor): every job ends
// in the right state, and its stored trace is exactly what the runner produced — the final update's checksum and
// size match the stored bytes, and the block the job printed is there once, masked, byte for byte.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator, type Fault } from '@runnerkit/coordinator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from '../support/count.js';
import { SOAK } from '../support/fuzz.js';
import {
  type CliProcess,
  configToml,
  createPipeline,
  finishedJob,
  gitProject,
  shellDirectories,
  startCli,
  temporaryDirectory,
  until,
} from '../support/runner.js';
import { sampleSecrets } from '../support/secrets.js';
import { type SlowProxy, startSlowProxy } from '../support/slow-proxy.js';
import { expectTraceIntact, printedBlock, printScript } from '../support/trace-integrity.js';

const SECRET = sampleSecrets(1, 303)[0] as string;
const LINES = 600;

let coordinator: Coordinator;
let work: Awaited<ReturnType<typeof temporaryDirectory>>;
let proxy: SlowProxy;
const runners: CliProcess[] = [];
let project = '';

beforeAll(async () => {
  coordinator = await createCoordinator({ traceUpdateIntervalSeconds: 1, recordBodyLimitBytes: 4 * 1024 * 1024 });
  work = await temporaryDirectory('faults');
  proxy = await startSlowProxy(new URL(coordinator.url), 150);
  const direct = coordinator.createRunner({ tags: ['faults'], runUntagged: false });
  const slow = coordinator.createRunner({ tags: ['slow'], runUntagged: false });
  const config = join(work.path, 'faults.toml');
  await writeFile(
    config,
    configToml([
      {
        name: 'faults',
        url: coordinator.url,
        token: direct.token,
        executor: 'shell',
        extra: shellDirectories(work.path),
      },
      { name: 'slow', url: proxy.url, token: slow.token, executor: 'shell', extra: shellDirectories(work.path) },
    ]),
  );
  const cli = startCli(['run', '-c', config]);
  runners.push(cli);
  await cli.waitFor(/Configuration loaded/);
  project = await gitProject(work.path, 'faults', { 'README.md': 'faults\n' });
});
afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.stop()));
  await proxy?.close();
  await coordinator?.close();
  await work?.remove();
});

async function startJob(
  name: string,
  options: { tag?: string; lines?: number; pauses?: number; afterScript?: string[] } = {},
) {
  const lines = options.lines ?? LINES;
  const tag = options.tag ?? 'faults';
  const afterScript = options.afterScript
    ? `  after_script:\n${options.afterScript.map((line) => `    - ${JSON.stringify(line)}`).join('\n')}\n`
    : '';
  const yaml = `${name}:\n  tags: [${tag}]\n  variables:\n    GIT_STRATEGY: none\n    FF_TIMESTAMPS: "false"\n  script:\n    - ${JSON.stringify(printScript(lines, name, options.pauses ?? 4))}\n${afterScript}`;
  const created = await createPipeline(coordinator, project, yaml, [{ key: 'SECRET', value: SECRET, masked: true }]);
  return { id: created.jobs[0]?.id as number, block: printedBlock(lines, name, '[MASKED]') };
}

function inject(faults: Fault[]): void {
  coordinator.inject(faults);
  count(
    'faultsInjected',
    faults.reduce((total, fault) => total + ('times' in fault && typeof fault.times === 'number' ? fault.times : 1), 0),
  );
}

async function finished(id: number) {
  const job = await finishedJob(coordinator, id, Number(process.env.RK_WAIT ?? 120_000)).catch((error: Error) => {
    const calls = coordinator.requests({ jobId: id }).map(
      (request) =>
        `${request.endpoint} ${request.method} ${request.status} ${
          request.endpoint === 'job-update'
            ? request.body
                .toString('utf8')
                .replace(/"info":\{[^}]*\},?/, '')
                .slice(0, 200)
            : (request.headers['content-range'] ?? '')
        }`,
    );
    throw new Error(
      `${error.message}: ${coordinator.job(id)?.status}\n${calls.join('\n')}\n${runners[0]?.output
        .split('\n')
        .filter((line) => !line.includes('Checking for jobs... nothing'))
        .join('\n')
        .slice(-4000)}`,
    );
  });
  count('jobsRun');
  return job;
}

describe('coordinator faults through `runnerkit run`', () => {
  it('500 and 502 on a share of trace PATCHes, updates and job requests: success, trace intact', async () => {
    inject([{ type: 'respond', endpoint: 'job-request', times: 2, status: 502, bodyText: 'Bad Gateway' }]);
    const { id, block } = await startJob('flaky');
    inject([
      {
        type: 'respond',
        endpoint: 'trace',
        jobId: id,
        times: 2,
        status: 500,
        body: { message: '500 Internal Server Error' },
      },
      { type: 'respond', endpoint: 'job-update', jobId: id, times: 1, status: 502, bodyText: 'Bad Gateway' },
    ]);
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    expectTraceIntact(coordinator, id, block);
  });

  it('dropped connections on job requests and trace PATCHes: success, trace intact', async () => {
    inject([{ type: 'drop', endpoint: 'job-request', times: 1 }]);
    const { id, block } = await startJob('dropped', { pauses: 8 });
    inject([{ type: 'drop', endpoint: 'trace', jobId: id, times: 2 }]);
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    expectTraceIntact(coordinator, id, block);
  });

  // The two-phase acknowledgement `PUT state=running` gets no answer (connection dropped before the server handled
  // it): the job runs anyway (api-spec §4.5), and the session sends `state=running` again (next keep-alive tick, or
  // before the final update) so the coordinator, still waiting for the acknowledgement, takes the final state.
  it('a dropped acknowledgement: the job still ends success in the coordinator', async () => {
    const { id, block } = await startJob('dropped-ack', { lines: 100 });
    inject([{ type: 'drop', endpoint: 'job-update', jobId: id, times: 1 }]);
    const job = await finishedJob(coordinator, id, 8_000);
    count('jobsRun');
    expect(job.status).toBe('success');
    expectTraceIntact(coordinator, id, block);
  });

  it('a lost trace answer (stored, then the connection closed): nothing stored twice', async () => {
    const { id, block } = await startJob('lost');
    inject([{ type: 'drop-trace-answer', jobId: id, times: 2 }]);
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    expectTraceIntact(coordinator, id, block);
  });

  it('416 after the coordinator lost the tail of a trace: the runner resends from its offset', async () => {
    const { id, block } = await startJob('range', { lines: LINES * 2, pauses: 12 });
    await until(() => (coordinator.trace(id).length > 10_000 ? true : undefined), 60_000, 'some trace');
    expect(coordinator.job(id)?.status).toBe('running');
    inject([{ type: 'lose-trace-tail', jobId: id, bytes: 4_096 }]);
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    const statuses = coordinator
      .requests({ endpoint: 'trace', jobId: id })
      .map((request) => `${request.status} ${request.headers['content-range']}`);
    expect(
      statuses.some((status) => status.startsWith('416')),
      statuses.join('\n'),
    ).toBe(true);
    expectTraceIntact(coordinator, id, block);
  });

  it('slow answers (every byte back from the coordinator 150 ms late): success, trace intact', async () => {
    const { id, block } = await startJob('slow', { tag: 'slow' });
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    expectTraceIntact(coordinator, id, block);
  });

  it('202 back-off on the final update: the runner repeats it until accepted', async () => {
    const { id, block } = await startJob('backoff', { lines: 100 });
    inject([{ type: 'final-update-accepted', jobId: id, times: 2 }]);
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    const finals = coordinator
      .requests({ endpoint: 'job-update', jobId: id })
      .filter((request) => /"state":"success"/.test(request.body.toString('utf8')));
    expect(finals.map((request) => request.status)).toEqual([202, 202, 200]);
    expectTraceIntact(coordinator, id, block);
  });

  it('cancel mid-job: after_script runs, the job ends canceled, the runner takes the next job', async () => {
    // slow output (a pause every 50 lines) keeps the trace far below the 4 MiB output limit
    const { id } = await startJob('cancel', { lines: 20_000, pauses: 400, afterScript: ['echo after-script-ran'] });
    await until(() => (coordinator.trace(id).length > 5_000 ? true : undefined), 60_000, 'the job to print');
    coordinator.cancelJob(id);
    count('faultsInjected');
    const job = await finished(id);
    expect(job.status, job.trace.slice(-2000)).toBe('canceled');
    expect(job.trace.slice(-3000)).toContain('after-script-ran');
    const next = await startJob('after-cancel', { lines: 50 });
    expect((await finished(next.id)).status).toBe('success');
    expectTraceIntact(coordinator, next.id, next.block);
  });

  it('forced cancel mid-job: the job ends canceled at once, the runner takes the next job', async () => {
    const { id } = await startJob('force', { lines: 20_000, pauses: 400, afterScript: ['echo after-script-ran'] });
    await until(() => (coordinator.trace(id).length > 5_000 ? true : undefined), 60_000, 'the job to print');
    coordinator.cancelJob(id, { force: true });
    count('faultsInjected');
    const job = await finished(id);
    expect(job.status).toBe('canceled');
    const next = await startJob('after-force', { lines: 50 });
    expect((await finished(next.id)).status).toBe('success');
    expectTraceIntact(coordinator, next.id, next.block);
  });

  it.runIf(SOAK)('soak: 40 jobs under a seeded mix of faults all end successfully with intact traces', async () => {
    const kinds: ((id: number) => Fault[])[] = [
      (id) => [{ type: 'respond', endpoint: 'trace', jobId: id, times: 1, status: 500 }],
      (id) => [{ type: 'drop', endpoint: 'trace', jobId: id, times: 1 }],
      (id) => [{ type: 'drop-trace-answer', jobId: id, times: 1 }],
      (id) => [{ type: 'respond', endpoint: 'job-update', jobId: id, times: 1, status: 502 }],
      (id) => [{ type: 'final-update-accepted', jobId: id, times: 1 }],
    ];
    for (let round = 0; round < 10; round += 1) {
      const jobs = await Promise.all([0, 1, 2, 3].map((slot) => startJob(`soak${round}x${slot}`)));
      for (const [slot, job] of jobs.entries()) {
        inject((kinds[(round + slot) % kinds.length] as (id: number) => Fault[])(job.id));
      }
      for (const job of jobs) {
        expect((await finished(job.id)).status).toBe('success');
        expectTraceIntact(coordinator, job.id, job.block);
      }
    }
  });
});
