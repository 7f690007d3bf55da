// Drives a local pipeline through the embedded coordinator: jobs are created as GitLab's order allows and run by
// the same supervisor and job path as `runnerkit run`.
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunnerConfig } from '@runnerkit/config-schema';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { isFinishedJobStatus } from '@runnerkit/job-spec';
import { createSupervisor, type JobSource } from '@runnerkit/job-runtime';
import {
  buildWireJobPayload,
  type CallerVariable,
  type CompiledPipeline,
  compilePipeline,
  createScheduler,
  type DependencyJob,
  type PlannedJob,
  readGitFacts,
} from '@runnerkit/pipeline';
import { createRunnerClient } from '../api-client.js';
import { cacheFor, type JobHooks, supervisedRunner, type WiringContext } from '../wiring.js';
import { PrefixedPrinter, type SummaryRow, summaryTable, type Writer } from './output.js';
import { selectJobs } from './select.js';
import type { Snapshot } from './snapshot.js';

const run = promisify(execFile);

export interface PipelineRunOptions {
  snapshot: Snapshot;
  yaml: string;
  fileName: string;
  variables: CallerVariable[];
  jobNames: readonly string[];
  withNeeds: boolean;
  concurrency: number;
  /** The runner entry jobs run with (url and token are replaced). */
  runner: RunnerConfig;
  createExecutor: Parameters<typeof supervisedRunner>[0]['createExecutor'];
  context: WiringContext;
  /** Stable identity of this project's local runner (its token), so caches and volumes survive between runs. */
  identity: string;
  out: Writer;
  color: boolean;
}

export interface PipelineRunResult {
  status: string;
  rows: SummaryRow[];
}

/** A stable runner token for a project directory: `glrt-` + 20 hex characters of its path's hash. */
export function localRunnerToken(projectDir: string): string {
  return `glrt-${createHash('sha256').update(`runnerkit-exec:${projectDir}`).digest('hex').slice(0, 20)}`;
}

export class PipelineCompileError extends Error {
  override readonly name = 'PipelineCompileError';
  readonly code = 'RUNNER_EXEC_PIPELINE_INVALID';
}

export async function runLocalPipeline(options: PipelineRunOptions): Promise<PipelineRunResult> {
  // No server-side trace limit: the runner's own output_limit is the only one.
  const coordinator = await createCoordinator({ traceSizeLimitBytes: Number.MAX_SAFE_INTEGER });
  try {
    return await drive(coordinator, options);
  } finally {
    await coordinator.close();
  }
}

async function drive(coordinator: Coordinator, options: PipelineRunOptions): Promise<PipelineRunResult> {
  const { snapshot, out } = options;
  const served = coordinator.serveProject(snapshot.dir);
  const projectId = 1;
  const pipelineId = 1;
  const compiled = await compilePipeline({
    yaml: options.yaml,
    fileName: options.fileName,
    projectDir: snapshot.dir,
    gitFacts: await readGitFacts(snapshot.dir),
    variables: options.variables,
    project: { id: projectId, path: served.projectPath },
    pipeline: { id: pipelineId, iid: pipelineId, source: 'push' },
    serverUrl: coordinator.url,
  });
  if (!compiled.ok) {
    const lines = compiled.issues.map(
      (issue) => `${issue.file ?? options.fileName}:${issue.line ?? 1} ${issue.path ?? ''}: ${issue.message}`,
    );
    throw new PipelineCompileError(`${options.fileName} is not valid:\n${lines.join('\n')}`);
  }
  const { pipeline, named } = selectJobs(compiled.pipeline, options.jobNames, options.withNeeds);
  await run('git', ['update-ref', `refs/pipelines/${pipelineId}`, snapshot.sha], { cwd: snapshot.dir });

  const tags = [...new Set(pipeline.jobs.flatMap((job) => job.tags))];
  const runnerRecord = coordinator.createRunner({ token: options.identity, tags, runUntagged: true });
  const runner: RunnerConfig = { ...options.runner, url: coordinator.url, token: runnerRecord.token };

  const printer = new PrefixedPrinter(
    out,
    options.color,
    pipeline.jobs.map((job) => job.name),
  );
  const started = new Map<number, number>();
  const durations = new Map<number, number>();
  /** Wakes the scheduling loop when a job ended (its final update is in the coordinator). */
  const wake = new Signal();
  /** Jobs created and not yet handed out; `created` wakes the runner's waiting request. */
  const queue = { pending: 0, created: new Signal() };
  const hooks: JobHooks = {
    onJobStart: (job) => {
      started.set(job.id, Date.now());
      printer.name(job.id, job.job_info.name);
    },
    onTrace: (job, chunk) => printer.write(job.id, chunk),
    onJobEnd: (job, _outcome, durationMs) => {
      printer.flush(job.id);
      durations.set(job.id, durationMs);
      wake.notify();
    },
  };
  const client = createRunnerClient(runner, {
    url: coordinator.url,
    traceSpoolDirectory: join(options.context.stateDir, 'traces'),
  });
  const supervised = supervisedRunner(
    {
      runner,
      client,
      createExecutor: options.createExecutor,
      context: options.context,
      hooks,
      cache: await cacheFor(runner, options.context),
    },
    0,
  );
  // exec creates every job itself, so the runner asks only when one is pending: no polling delay, no idle requests
  const source = supervised.source;
  const requestWhenPending: JobSource = {
    async request(signal) {
      while (queue.pending === 0) await queue.created.wait(signal);
      queue.pending--;
      let outcome: Awaited<ReturnType<JobSource['request']>> | undefined;
      try {
        outcome = await source.request(signal);
        return outcome;
      } finally {
        // not handed out after all: the next request (at the supervisor's next turn) asks for it again
        if (outcome?.kind !== 'job') queue.pending++;
      }
    },
  };
  const supervisor = createSupervisor({
    runners: [{ ...supervised, source: requestWhenPending }],
    concurrent: options.concurrency,
    checkIntervalMs: 1000,
  });
  const state = { interrupted: false };
  const interrupt = (signal: NodeJS.Signals) => {
    state.interrupted = true;
    void supervisor.stop({ mode: 'forced', signal, timeoutMs: 30_000 });
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    return await schedule(coordinator, pipeline, named, served.repoUrl, options, state, durations, {
      wake,
      jobCreated: () => {
        queue.pending++;
        queue.created.notify();
      },
    });
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await supervisor.stop({ mode: 'graceful' });
    await client.close();
  }
}

async function schedule(
  coordinator: Coordinator,
  pipeline: CompiledPipeline,
  named: Set<string>,
  repoUrl: (jobToken: string) => string,
  options: PipelineRunOptions,
  state: { interrupted: boolean },
  durations: Map<number, number>,
  events: { wake: Signal; jobCreated: () => void },
): Promise<PipelineRunResult> {
  const scheduler = createScheduler(pipeline);
  const idsByName = new Map<string, number>();
  const running = new Map<number, PlannedJob>();
  /** When a running job was first seen finished in the coordinator. */
  const finishedAt = new Map<number, number>();
  const notes = new Map<string, string>();
  let nextId = 1;
  const needsImage = options.runner.executor === 'docker' && !options.runner.docker?.image;

  /** A named manual job is played once its stage is reached (GitLab shows it manual from then on). */
  const playNamed = (): boolean => {
    let played = false;
    if (state.interrupted) return played;
    for (const job of scheduler.jobs())
      if (job.status === 'manual' && named.has(job.job.name)) {
        scheduler.play(job.job.name);
        played = true;
      }
    return played;
  };

  for (;;) {
    if (state.interrupted) scheduler.cancel();
    playNamed();
    for (const planned of state.interrupted ? [] : scheduler.ready()) {
      scheduler.start(planned.name);
      if (needsImage && !planned.image?.name) {
        const message = `job "${planned.name}" has no image: set \`image:\` on the job or under \`default:\` in ${options.fileName}, or [runners.docker] image in the config given with -c`;
        options.out.write(`ERROR: ${message}\n`);
        notes.set(planned.name, 'no image');
        scheduler.finish(planned.name, 'failed', { failureReason: 'runner_configuration_error' });
        continue;
      }
      const id = nextId++;
      const token = `glcbt-${randomBytes(12).toString('hex')}`;
      const dependencies: DependencyJob[] = [];
      for (const name of planned.dependencies) {
        const dependencyId = idsByName.get(name);
        const view = dependencyId === undefined ? undefined : coordinator.job(dependencyId);
        if (!view) continue;
        const archive = view.artifacts.find((artifact) => artifact.artifact_type === 'archive');
        dependencies.push({
          id: view.id,
          name,
          token,
          ...(archive ? { artifactsFile: { filename: archive.filename, size: archive.size } } : {}),
        });
      }
      const payload = buildWireJobPayload(planned, {
        jobId: id,
        jobToken: token,
        pipelineId: 1,
        projectId: 1,
        repoUrl: repoUrl(token),
        serverUrl: coordinator.url,
        dependencies,
      }) as Record<string, unknown>;
      coordinator.createJob(payload, { tags: planned.tags });
      idsByName.set(planned.name, id);
      running.set(id, planned);
      events.jobCreated();
    }
    for (const [id, planned] of running) {
      const view = coordinator.job(id);
      if (!view || !isFinishedJobStatus(view.status)) continue;
      // The coordinator has the final update a moment before the runner's job path has ended (its duration, its
      // output flushed); wait for that, or a little while for a job the runner dropped without running it.
      const seen = finishedAt.get(id) ?? Date.now();
      finishedAt.set(id, seen);
      if (!durations.has(id) && !state.interrupted && Date.now() - seen < 2000) continue;
      running.delete(id);
      if (state.interrupted) continue;
      const result = view.status === 'success' ? 'success' : view.status === 'canceled' ? 'canceled' : 'failed';
      scheduler.finish(planned.name, result, {
        ...(view.exit_code !== null ? { exitCode: view.exit_code } : {}),
        ...(view.failure_reason !== null ? { failureReason: view.failure_reason } : {}),
      });
    }
    if (playNamed()) continue;
    const wakeUp = scheduler.nextWakeUp();
    if (running.size === 0 && (state.interrupted || (scheduler.ready().length === 0 && wakeUp === undefined))) break;
    // Woken by a job's end; the timeout covers a job dropped without one and `when: delayed` jobs.
    const pendingEnd = [...running.keys()].some((id) => finishedAt.has(id));
    const limit = pendingEnd ? 100 : 1000;
    const untilWakeUp = wakeUp === undefined ? limit : Math.max(0, Math.min(limit, wakeUp - Date.now()));
    await events.wake.wait(AbortSignal.timeout(untilWakeUp)).catch(() => undefined);
  }

  const rows: SummaryRow[] = scheduler.jobs().map((state) => {
    const id = idsByName.get(state.job.name);
    const status = state.status === 'failed' && state.allowedFailure ? 'failed (allowed)' : state.status;
    return {
      job: state.job.name,
      stage: state.job.stage,
      status,
      durationMs: id === undefined ? undefined : durations.get(id),
      note: notes.get(state.job.name) ?? (state.attempts > 1 ? `${state.attempts} attempts` : undefined),
    };
  });
  options.out.write(`\n${summaryTable(rows, options.color)}`);
  return { status: scheduler.status(), rows };
}

/** A level-less wake-up: `wait` resolves at the next `notify` (or rejects when `signal` aborts). */
class Signal {
  #waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const resolve of waiters) resolve();
  }

  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(done);
        reject(signal.reason);
      };
      this.#waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
