// The multi-runner poll loop (GitLab Runner's `run` command): every runner polled with check_interval spread
// across runners, `concurrent` workers in all, `limit` and `request_concurrency` per runner, unhealthy runners
// rested, graceful and forced stop. It knows nothing of HTTP or executors: jobs come through a port.
import { RunnerInterrupt } from '../job/run-job.js';

/**
 * What one job request gave. `healthy: false` counts towards `unhealthy_requests_limit`. `again: true` asks for the
 * next request at once instead of at the runner's next check_interval turn: GitLab Workhorse's long polling
 * answered (api-spec §4.3: the queue changed while the request was held, or the hold ran out). A runner whose
 * `again` answers keep coming back quickly falls back to check_interval pacing ({@link FAST_AGAIN_LIMIT}).
 */
export type JobRequestOutcome =
  | { kind: 'job'; job: SupervisedJob }
  | { kind: 'no-job'; healthy: boolean; again?: boolean | undefined };

/** An `again` answer faster than this (ms) counts as fast: the server did not hold the request. */
export const FAST_AGAIN_MS = 1000;
/** Consecutive fast `again` answers that still get an immediate request; after that, check_interval pacing. */
export const FAST_AGAIN_LIMIT = 3;

/** Where a runner's jobs come from (the CLI binds it to `POST /api/v4/jobs/request`). */
export interface JobSource {
  /**
   * Asks for one job. Resolves `no-job` for every server answer that is not a job; may reject when `signal`
   * aborts (the supervisor is stopping). Any other rejection counts as an unhealthy request.
   */
  request(signal: AbortSignal): Promise<JobRequestOutcome>;
}

export interface JobRunContext {
  /** `CI_CONCURRENT_ID`: smallest integer ≥ 0 not used by another running job of this runner. */
  concurrentId: number;
  /** `CI_CONCURRENT_PROJECT_ID`: the same, among this runner's running jobs of the same project. */
  concurrentProjectId: number;
  /** Aborted with a {@link RunnerInterrupt} on a forced stop: the job ends as `runner_interrupted`. */
  interruptSignal: AbortSignal;
}

/** A received job. `run` takes it to its end (final update included); a rejection is reported, never fatal. */
export interface SupervisedJob {
  /** The job's project, for `CI_CONCURRENT_PROJECT_ID`. */
  projectId?: number | undefined;
  run(context: JobRunContext): Promise<void>;
}

/** One `[[runners]]` entry as the loop sees it. */
export interface SupervisedRunner {
  /** Stable identity across reloads: an entry with the same id keeps its running jobs and health. */
  id: string;
  /** `limit`: jobs (and requests) at once for this runner; 0 = no limit. */
  limit?: number | undefined;
  /** `request_concurrency`: job requests in flight at once (default 1). */
  requestConcurrency?: number | undefined;
  /** `unhealthy_requests_limit` (default 3). */
  unhealthyRequestsLimit?: number | undefined;
  /** `unhealthy_interval` in ms (default 1 h). */
  unhealthyIntervalMs?: number | undefined;
  source: JobSource;
}

export interface SupervisorSettings {
  runners: readonly SupervisedRunner[];
  /** `concurrent`: job requests plus running jobs, over all runners. */
  concurrent: number;
  /** `check_interval` in ms (GitLab: 3 s), spread across runners: one runner is fed every interval / runners. */
  checkIntervalMs: number;
}

export type SupervisorEvent =
  | { type: 'request-failed'; runner: string; error: unknown }
  | { type: 'runner-unhealthy'; runner: string; untilMs: number; failures: number }
  | { type: 'runner-healthy'; runner: string }
  | { type: 'job-start'; runner: string; concurrentId: number }
  | { type: 'job-end'; runner: string; concurrentId: number; error?: unknown }
  | { type: 'stop-requested'; mode: StopMode }
  | { type: 'stopped'; timedOut: boolean };

export type StopMode = 'graceful' | 'forced';

export interface SupervisorOptions extends SupervisorSettings {
  onEvent?: ((event: SupervisorEvent) => void) | undefined;
  /** Milliseconds since the epoch (unhealthy intervals). */
  now?: (() => number) | undefined;
}

export interface StopOptions {
  /** graceful: stop requesting, let running jobs finish. forced: also abort running jobs. */
  mode: StopMode;
  /** Signal named in `aborted: <signal>` on forced stop (default SIGTERM). */
  signal?: string | undefined;
  /** Forced stop: how long to wait for aborted jobs to clean up (`shutdown_timeout`); default 30 s. */
  timeoutMs?: number | undefined;
}

export interface SupervisorStats {
  running: number;
  requesting: number;
  runners: Record<string, { running: number; requesting: number; healthy: boolean }>;
}

export interface Supervisor {
  /** Replaces runners and limits (config reload); running jobs of removed runners finish normally. */
  update(settings: Partial<SupervisorSettings>): void;
  /**
   * Stops the loop. Resolves when every job ended (graceful), or when they ended or `timeoutMs` passed (forced).
   * A forced stop may follow a graceful one (SIGQUIT, then SIGTERM).
   */
  stop(options: StopOptions): Promise<{ timedOut: boolean }>;
  stats(): SupervisorStats;
  /** Resolves once the supervisor stopped. */
  readonly done: Promise<{ timedOut: boolean }>;
}

interface RunnerState {
  runner: SupervisedRunner;
  running: number;
  requesting: number;
  failures: number;
  unhealthyUntil: number | undefined;
  /** concurrent ids in use → the job's project and its concurrent project id. */
  ids: Map<number, { projectId: number | undefined; projectSlot: number }>;
  /**
   * The immediate request owed after a received job (GitLab requeues the runner) could not start for want of a
   * free slot: it starts when one of this runner's jobs ends.
   */
  owed: boolean;
  /** Consecutive `again` answers that came back faster than {@link FAST_AGAIN_MS}. */
  fastAgain: number;
}

/** Starts the loop at once. */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const emit = (event: SupervisorEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // a listener's failure must not stop the loop
    }
  };
  const now = options.now ?? Date.now;
  let concurrent = Math.max(1, options.concurrent);
  let checkIntervalMs = Math.max(0, options.checkIntervalMs);
  const states = new Map<string, RunnerState>();
  let order: RunnerState[] = [];
  const requests = new AbortController();
  const interrupt = new AbortController();
  const jobs = new Set<Promise<void>>();
  let stopping: StopMode | undefined;
  let resolveDone!: (value: { timedOut: boolean }) => void;
  const done = new Promise<{ timedOut: boolean }>((resolve) => {
    resolveDone = resolve;
  });
  let finished = false;

  const used = () => {
    let total = 0;
    for (const state of states.values()) total += state.running + state.requesting;
    for (const state of retired) total += state.running;
    return total;
  };
  const retired = new Set<RunnerState>();

  const setRunners = (runners: readonly SupervisedRunner[]) => {
    const next = new Map<string, RunnerState>();
    for (const runner of runners) {
      const existing = states.get(runner.id);
      if (existing) {
        existing.runner = runner;
        next.set(runner.id, existing);
      } else {
        next.set(runner.id, {
          runner,
          running: 0,
          requesting: 0,
          failures: 0,
          unhealthyUntil: undefined,
          ids: new Map(),
          owed: false,
          fastAgain: 0,
        });
      }
    }
    for (const [id, state] of states) if (!next.has(id) && state.running > 0) retired.add(state);
    states.clear();
    for (const [id, state] of next) states.set(id, state);
    order = [...states.values()];
  };
  setRunners(options.runners);

  // The feeder waits either for a free worker (woken by `poke`) or for its interval (woken only by stop).
  let wakeSlot: (() => void) | undefined;
  let wakeInterval: (() => void) | undefined;
  const poke = () => {
    const resume = wakeSlot;
    wakeSlot = undefined;
    resume?.();
  };
  const waitForSlot = () =>
    new Promise<void>((resolve) => {
      wakeSlot = resolve;
    });
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wakeInterval = undefined;
        resolve();
      }, ms);
      wakeInterval = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const healthy = (state: RunnerState) => {
    if (state.unhealthyUntil === undefined) return true;
    if (now() < state.unhealthyUntil) return false;
    // The interval passed: allow one request and count again.
    state.unhealthyUntil = undefined;
    state.failures = 0;
    emit({ type: 'runner-healthy', runner: state.runner.id });
    return true;
  };

  const record = (state: RunnerState, ok: boolean) => {
    if (ok) {
      state.failures = 0;
      return;
    }
    state.failures++;
    const limit = state.runner.unhealthyRequestsLimit ?? 3;
    if (state.failures >= limit && state.unhealthyUntil === undefined) {
      state.unhealthyUntil = now() + (state.runner.unhealthyIntervalMs ?? 60 * 60_000);
      emit({
        type: 'runner-unhealthy',
        runner: state.runner.id,
        untilMs: state.unhealthyUntil,
        failures: state.failures,
      });
    }
  };

  const freeId = (ids: Iterable<number>) => {
    const taken = new Set(ids);
    let id = 0;
    while (taken.has(id)) id++;
    return id;
  };

  /** One worker's turn for a runner (GitLab's processRunner). Returns without waiting for the job. */
  const dispatch = (state: RunnerState): boolean => {
    if (stopping || used() >= concurrent || !healthy(state)) return false;
    const limit = state.runner.limit ?? 0;
    if (limit > 0 && state.running + state.requesting >= limit) return false;
    if (state.requesting >= Math.max(1, state.runner.requestConcurrency ?? 1)) return false;
    state.requesting++;
    const started = now();
    void (async () => {
      let outcome: JobRequestOutcome | undefined;
      try {
        outcome = await state.runner.source.request(requests.signal);
      } catch (error) {
        if (!requests.signal.aborted) {
          emit({ type: 'request-failed', runner: state.runner.id, error });
          record(state, false);
        }
      } finally {
        state.requesting--;
      }
      if (outcome?.kind === 'no-job') record(state, outcome.healthy);
      if (outcome?.kind !== 'job') {
        if (outcome?.kind === 'no-job' && outcome.again) {
          // Long polling answered: ask again at once, unless the server keeps answering without holding.
          state.fastAgain = now() - started < FAST_AGAIN_MS ? state.fastAgain + 1 : 0;
          if (state.fastAgain <= FAST_AGAIN_LIMIT) dispatch(state);
        } else state.fastAgain = 0;
        poke();
        return;
      }
      record(state, true);
      state.fastAgain = 0;
      runJob(state, outcome.job);
      // A runner that got a job asks again at once (GitLab requeues it); without a free slot, once a job of it ends.
      // (A request already in flight for this runner is that request.)
      state.owed = !dispatch(state) && state.requesting === 0 && !stopping;
      poke();
    })();
    return true;
  };

  const runJob = (state: RunnerState, job: SupervisedJob) => {
    const concurrentId = freeId(state.ids.keys());
    const sameProject = [...state.ids.values()].filter((entry) => entry.projectId === job.projectId);
    const concurrentProjectId = freeId(sameProject.map((entry) => entry.projectSlot));
    state.ids.set(concurrentId, { projectId: job.projectId, projectSlot: concurrentProjectId });
    state.running++;
    emit({ type: 'job-start', runner: state.runner.id, concurrentId });
    const promise = (async () => {
      let failure: unknown;
      try {
        await job.run({ concurrentId, concurrentProjectId, interruptSignal: interrupt.signal });
      } catch (error) {
        failure = error;
      }
      state.running--;
      state.ids.delete(concurrentId);
      if (state.running === 0) retired.delete(state);
      emit(
        failure === undefined
          ? { type: 'job-end', runner: state.runner.id, concurrentId }
          : { type: 'job-end', runner: state.runner.id, concurrentId, error: failure },
      );
    })();
    jobs.add(promise);
    void promise.finally(() => {
      jobs.delete(promise);
      // A feeder waiting for a slot takes this one in its turn (fair across runners); otherwise the request owed
      // since this runner's last job arrived starts now.
      const owed = state.owed && wakeSlot === undefined && states.get(state.runner.id) === state;
      state.owed = false;
      if (owed) dispatch(state);
      poke();
    });
  };

  // The feeder (GitLab's feedRunners): one runner every check_interval / runners, waiting for a free worker.
  void (async () => {
    let index = 0;
    while (!stopping) {
      if (order.length === 0 || used() >= concurrent) {
        await waitForSlot();
        continue;
      }
      const state = order[index % order.length]!;
      index = (index + 1) % order.length;
      dispatch(state);
      await sleep(checkIntervalMs / order.length);
    }
  })();

  const settle = async (timeoutMs: number | undefined): Promise<{ timedOut: boolean }> => {
    const all = (async () => {
      while (jobs.size > 0) await Promise.allSettled([...jobs]);
    })();
    if (timeoutMs === undefined) {
      await all;
      return { timedOut: false };
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return { timedOut };
  };

  const finish = (result: { timedOut: boolean }) => {
    if (finished) return;
    finished = true;
    emit({ type: 'stopped', timedOut: result.timedOut });
    resolveDone(result);
  };

  return {
    done,
    update(settings) {
      if (settings.concurrent !== undefined) concurrent = Math.max(1, settings.concurrent);
      if (settings.checkIntervalMs !== undefined) checkIntervalMs = Math.max(0, settings.checkIntervalMs);
      if (settings.runners) setRunners(settings.runners);
      poke();
    },
    async stop(stopOptions) {
      const escalate = stopOptions.mode === 'forced' && stopping !== 'forced';
      if (stopping === undefined || escalate) emit({ type: 'stop-requested', mode: stopOptions.mode });
      if (stopping !== 'forced') stopping = stopOptions.mode;
      requests.abort();
      poke();
      wakeInterval?.();
      if (stopOptions.mode === 'forced') {
        if (!interrupt.signal.aborted) interrupt.abort(new RunnerInterrupt(stopOptions.signal ?? 'SIGTERM'));
        const result = await settle(stopOptions.timeoutMs ?? 30_000);
        finish(result);
        return result;
      }
      const result = await settle(undefined);
      finish(result);
      return done;
    },
    stats() {
      const runners: SupervisorStats['runners'] = {};
      let running = 0;
      let requesting = 0;
      for (const state of states.values()) {
        running += state.running;
        requesting += state.requesting;
        runners[state.runner.id] = {
          running: state.running,
          requesting: state.requesting,
          healthy: state.unhealthyUntil === undefined || now() >= state.unhealthyUntil,
        };
      }
      for (const state of retired) running += state.running;
      return { running, requesting, runners };
    },
  };
}
