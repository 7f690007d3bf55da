import { SchedulerStateError } from '../errors.js';
import type { CompiledPipeline, PlannedJob } from '../plan/planned-job.js';

/** GitLab's job status words, as the scheduler uses them. */
export type SchedulerJobStatus =
  | 'created'
  | 'pending'
  | 'running'
  | 'success'
  | 'failed'
  | 'canceled'
  | 'skipped'
  | 'manual'
  | 'scheduled';

/** GitLab's pipeline status words. */
export type PipelineStatus =
  | 'created'
  | 'pending'
  | 'running'
  | 'success'
  | 'failed'
  | 'canceled'
  | 'skipped'
  | 'manual'
  | 'scheduled';

export interface FinishOptions {
  /** Whether this failure is allowed; by default the job's `allow_failure` (and its exit_codes) decide. */
  allowFailure?: boolean;
  /** Exit code of the failed script, for `allow_failure:exit_codes` and `retry:exit_codes`. */
  exitCode?: number;
  /** GitLab failure reason, for `retry:when` (default `script_failure`). */
  failureReason?: string;
}

export interface SchedulerJobState {
  job: PlannedJob;
  status: SchedulerJobStatus;
  /** Runs so far (retries included). */
  attempts: number;
  /** A failed job whose failure was allowed (`allow_failure`), shown by GitLab as a warning. */
  allowedFailure: boolean;
  /** For `scheduled` jobs: when they become pending (ms since epoch, from the scheduler's clock). */
  runAt?: number;
}

export interface Scheduler {
  /** Jobs that may start now (status `pending`), in GitLab's order; each is returned until started. */
  ready(): PlannedJob[];
  /** Marks a ready job as running. */
  start(name: string): void;
  /** Records a running job's result; a retryable failure puts the job back to pending. */
  finish(name: string, result: 'success' | 'failed' | 'canceled', options?: FinishOptions): void;
  /** Plays a manual job, or runs a scheduled (delayed) job now. */
  play(name: string): void;
  /** Cancels every job that has not finished. */
  cancel(): void;
  /** Jobs GitLab would skip (their `when` does not match the earlier jobs' result). */
  skipped(): PlannedJob[];
  /** The pipeline's status word. */
  status(): PipelineStatus;
  /** Every job with its status. */
  jobs(): SchedulerJobState[];
  /** The next time (clock ms) a scheduled job becomes pending, if any. */
  nextWakeUp(): number | undefined;
}

export interface SchedulerOptions {
  /** Clock for `when: delayed` (default Date.now). */
  now?: () => number;
}

const FINISHED = new Set<SchedulerJobStatus>(['success', 'failed', 'canceled', 'skipped']);

type Composite = 'success' | 'failed' | 'canceled' | 'skipped' | 'waiting';

/**
 * GitLab's pipeline processing as a state machine: a job's prerequisites are its `needs` or, without needs, every
 * job of the earlier stages; once they are complete their composite status (allowed failures and non-blocking
 * manual jobs ignored) decides by `when` whether the job becomes pending, manual, scheduled or skipped.
 */
export function createScheduler(compiled: CompiledPipeline, options: SchedulerOptions = {}): Scheduler {
  const now = options.now ?? Date.now;
  const states = new Map<string, SchedulerJobState>();
  for (const job of compiled.jobs) states.set(job.name, { job, status: 'created', attempts: 0, allowedFailure: false });
  const order = compiled.jobs.map((job) => states.get(job.name)!);

  const get = (name: string): SchedulerJobState => {
    const state = states.get(name);
    if (!state) throw new SchedulerStateError(`no job named "${name}" in this pipeline`);
    return state;
  };

  const ignored = (state: SchedulerJobState, viaNeeds: boolean): boolean =>
    (state.status === 'failed' && state.allowedFailure) ||
    (state.status === 'canceled' && state.job.allowFailure) ||
    (!viaNeeds && state.status === 'manual' && state.job.allowFailure);

  const composite = (prerequisites: SchedulerJobState[], viaNeeds: boolean): Composite => {
    let sawSuccess = false;
    let sawFailed = false;
    let sawCanceled = false;
    for (const state of prerequisites) {
      if (ignored(state, viaNeeds)) {
        sawSuccess = true;
        continue;
      }
      if (!FINISHED.has(state.status)) return 'waiting';
      if (state.status === 'success') sawSuccess = true;
      else if (state.status === 'failed') sawFailed = true;
      else if (state.status === 'canceled') sawCanceled = true;
    }
    if (sawFailed) return 'failed';
    if (sawCanceled) return 'canceled';
    if (!sawSuccess && prerequisites.length > 0) return 'skipped';
    return 'success';
  };

  const prerequisiteCache = new Map<SchedulerJobState, { list: SchedulerJobState[]; viaNeeds: boolean }>();
  const prerequisitesOf = (state: SchedulerJobState): { list: SchedulerJobState[]; viaNeeds: boolean } => {
    let cached = prerequisiteCache.get(state);
    if (!cached) {
      cached = computePrerequisites(state);
      prerequisiteCache.set(state, cached);
    }
    return cached;
  };
  function computePrerequisites(state: SchedulerJobState): { list: SchedulerJobState[]; viaNeeds: boolean } {
    const { job } = state;
    if (job.needs) {
      return {
        list: job.needs.map((need) => states.get(need.name)).filter((s): s is SchedulerJobState => s !== undefined),
        viaNeeds: true,
      };
    }
    return { list: order.filter((other) => other.job.stageIndex < job.stageIndex), viaNeeds: false };
  }

  const advance = (): void => {
    let changed = true;
    while (changed) {
      changed = false;
      for (const state of order) {
        if (state.status === 'scheduled' && state.runAt !== undefined && state.runAt <= now()) {
          state.status = 'pending';
          delete state.runAt;
          changed = true;
          continue;
        }
        if (state.status !== 'created') continue;
        const { list, viaNeeds } = prerequisitesOf(state);
        const result = composite(list, viaNeeds);
        if (result === 'waiting') continue;
        const when = state.job.when;
        const passes =
          when === 'always' ||
          (when === 'on_failure' ? result === 'failed' : result === 'success' || result === 'skipped');
        if (!passes) state.status = 'skipped';
        else if (when === 'manual') state.status = 'manual';
        else if (when === 'delayed') {
          state.status = 'scheduled';
          state.runAt = now() + (state.job.startIn ?? 0) * 1000;
        } else state.status = 'pending';
        changed = true;
      }
    }
  };

  // GitLab's composite status (Gitlab::Ci::Status::Composite): allowed failures and non-blocking manual jobs
  // are "ignored"; the checks run in GitLab's order.
  const pipelineStatus = (): PipelineStatus => {
    advance();
    const set = new Set<string>();
    for (const state of order) {
      if (ignored(state, false)) set.add('ignored');
      else if (state.status === 'failed' && state.allowedFailure) set.add('success_with_warnings');
      else set.add(state.status);
    }
    const onlyOf = (...allowed: string[]) => [...set].every((s) => allowed.includes(s));
    const anyOf = (...wanted: string[]) => wanted.some((s) => set.has(s));
    if (set.size === 0 || onlyOf('skipped', 'ignored')) return 'skipped';
    if (onlyOf('success', 'skipped', 'success_with_warnings', 'ignored')) return 'success';
    if (onlyOf('created', 'success_with_warnings', 'ignored')) return 'created';
    if (onlyOf('canceled', 'success', 'skipped', 'success_with_warnings', 'ignored')) return 'canceled';
    if (onlyOf('pending', 'created', 'skipped', 'success_with_warnings', 'ignored')) return 'pending';
    if (anyOf('running', 'pending')) return 'running';
    if (anyOf('manual')) return 'manual';
    if (anyOf('scheduled')) return 'scheduled';
    if (anyOf('created')) return 'running';
    return 'failed';
  };

  return {
    ready() {
      advance();
      return order.filter((s) => s.status === 'pending').map((s) => s.job);
    },
    start(name) {
      advance();
      const state = get(name);
      if (state.status !== 'pending')
        throw new SchedulerStateError(`job "${name}" cannot start: it is ${state.status}, not pending`);
      state.status = 'running';
      state.attempts++;
    },
    finish(name, result, finishOptions = {}) {
      const state = get(name);
      if (state.status !== 'running' && !(result === 'canceled' && state.status === 'pending')) {
        throw new SchedulerStateError(`job "${name}" cannot finish: it is ${state.status}, not running`);
      }
      if (result === 'failed') {
        const { retry } = state.job;
        const reason = finishOptions.failureReason ?? 'script_failure';
        const retryable =
          state.attempts <= retry.max &&
          (retry.when.includes('always') || retry.when.includes(reason)) &&
          (retry.exitCodes.length === 0 ||
            (finishOptions.exitCode !== undefined && retry.exitCodes.includes(finishOptions.exitCode)));
        if (retryable) {
          state.status = 'pending';
          return;
        }
        const codes = state.job.allowFailureExitCodes;
        state.allowedFailure =
          finishOptions.allowFailure ??
          (state.job.allowFailure &&
            (codes.length === 0 || (finishOptions.exitCode !== undefined && codes.includes(finishOptions.exitCode))));
      }
      state.status = result;
      advance();
    },
    play(name) {
      const state = get(name);
      if (state.status !== 'manual' && state.status !== 'scheduled') {
        throw new SchedulerStateError(`job "${name}" cannot be played: it is ${state.status}, not manual or scheduled`);
      }
      state.status = 'pending';
      delete state.runAt;
      advance();
    },
    cancel() {
      for (const state of order) if (!FINISHED.has(state.status)) state.status = 'canceled';
    },
    skipped() {
      advance();
      return order.filter((s) => s.status === 'skipped').map((s) => s.job);
    },
    status: pipelineStatus,
    jobs() {
      advance();
      return order.map((s) => ({ ...s }));
    },
    nextWakeUp() {
      const times = order.filter((s) => s.status === 'scheduled' && s.runAt !== undefined).map((s) => s.runAt!);
      return times.length > 0 ? Math.min(...times) : undefined;
    },
  };
}
