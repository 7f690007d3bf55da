// `runnerkit run` against the real coordinator: with Workhorse long polling a new job is received at once (the held
// request is answered 204 and the runner asks again immediately), far below check_interval; without it the runner
// keeps its check_interval pacing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigCommandIo } from './commands/config.js';
import { runRunner } from './commands/run.js';

let coordinator: Coordinator | undefined;
let work: string | undefined;
let stopping: Promise<number> | undefined;

afterEach(async () => {
  if (stopping) {
    process.emit('SIGQUIT', 'SIGQUIT');
    await stopping;
  }
  stopping = undefined;
  await coordinator?.close();
  coordinator = undefined;
  if (work) await rm(work, { recursive: true, force: true });
  work = undefined;
});

/** A shell job that needs no clone (GIT_STRATEGY none) and prints one line. */
function shellJob(): Record<string, unknown> {
  return {
    allow_git_fetch: true,
    job_info: { name: 'hi', stage: 'test', project_id: 42, project_name: 'project' },
    git_info: { repo_url: 'http://127.0.0.1:9/none.git', ref: 'main', sha: '0'.repeat(40), ref_type: 'branch' },
    runner_info: { timeout: 600 },
    variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true, masked: false }],
    steps: [{ name: 'script', script: ['echo hi'], timeout: 600, when: 'on_success', allow_failure: false }],
    hooks: [],
    image: null,
    services: [],
    artifacts: null,
    cache: [],
    credentials: [],
    features: { trace_sections: true },
    dependencies: [],
  };
}

async function startRunner(longPollingSeconds: number, checkInterval: number) {
  coordinator = await createCoordinator({ longPollingSeconds });
  const runner = coordinator.createRunner({ description: 'long-polling' });
  work = await mkdtemp(join(tmpdir(), 'runnerkit-long-polling-'));
  const config = join(work, 'config.toml');
  await writeFile(
    config,
    [
      'concurrent = 2',
      `check_interval = ${checkInterval}`,
      '[[runners]]',
      '  name = "long-polling"',
      `  url = "${coordinator.url}"`,
      `  token = "${runner.token}"`,
      '  executor = "shell"',
      `  builds_dir = "${work}/builds"`,
      `  cache_dir = "${work}/cache"`,
      '',
    ].join('\n'),
  );
  let log = '';
  const io: ConfigCommandIo = {
    stdout: { write: () => true },
    stderr: {
      write: (chunk: string) => {
        log += chunk;
        return true;
      },
    },
    env: { XDG_CACHE_HOME: join(work, 'cache-home') },
    cwd: work,
    homedir: work,
    isRoot: false,
    setExitCode: () => undefined,
  };
  stopping = runRunner(io, { config, log: { logFormat: 'json' } });
  return { coordinator, log: () => log };
}

const requestTimes = (coordinator: Coordinator) =>
  coordinator.requests({ endpoint: 'job-request' }).map((request) => Date.parse(request.time));

async function until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('runnerkit run with long polling', () => {
  it('receives a job created while its request is held within a fraction of check_interval', async () => {
    const { coordinator } = await startRunner(30, 20);
    // the first request (no last_update) is answered at once, the second one is held
    await until(() => (requestTimes(coordinator).length >= 2 ? true : undefined), 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestTimes(coordinator)).toHaveLength(2);
    const created = Date.now();
    const job = coordinator.createJob(shellJob());
    await until(() => (coordinator.job(job.id)?.status !== 'pending' ? true : undefined), 10_000);
    const received = Date.now() - created;
    expect(received).toBeLessThan(1500);
    const done = await until(() => {
      const status = coordinator.job(job.id)?.status;
      return status === 'success' || status === 'failed' ? status : undefined;
    }, 20_000);
    expect(done).toBe('success');
  });

  it('without long polling keeps check_interval pacing between requests', async () => {
    const { coordinator } = await startRunner(0, 1);
    await until(() => (requestTimes(coordinator).length >= 3 ? true : undefined), 10_000);
    const times = requestTimes(coordinator);
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    for (const gap of gaps.slice(0, 2)) expect(gap).toBeGreaterThanOrEqual(900);
  });
});
