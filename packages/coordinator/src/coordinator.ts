import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import type { JobStatus } from '@runnerkit/job-spec';
import { CoordinatorCore, type NewJobOptions, type NewRunnerOptions, type ResolvedOptions } from './core.js';
import { CoordinatorError } from './errors.js';
import type { Endpoint, Fault, RecordedRequest } from './faults.js';
import { projectPathFor } from './git-http.js';
import { createPipelineDriver } from './pipelines.js';
import { type JobView, jobView, type RunnerView, runnerView } from './views.js';

export interface CoordinatorOptions {
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (a free port). */
  port?: number;
  /** Persist state (state.json), traces and artifacts here; default: memory, artifacts in a temporary directory. */
  dataDir?: string;
  /** Serve everything under this path too (`/gitlab`), as GitLab under a relative URL root. */
  pathPrefix?: string;
  /** The instance's registration token; generated (`GR1348941…`) when absent. */
  registrationToken?: string;
  /** When false, `POST /api/v4/runners` answers 410 (registration tokens disabled). Default true. */
  registrationEnabled?: boolean;
  /** Accepted as `PRIVATE-TOKEN` by the reset-token-by-id call; generated (`glpat-…`) when absent. */
  personalAccessToken?: string;
  /** Workhorse long polling of job requests, seconds; 0 (default) disables it. */
  longPollingSeconds?: number;
  /** `X-GitLab-Trace-Update-Interval` of trace answers; default 3 (GitLab's value while someone watches the log). */
  traceUpdateIntervalSeconds?: number;
  /** Trace size limit in bytes; default 100 MiB. */
  traceSizeLimitBytes?: number;
  /** Largest artifact accepted, bytes; default 1 GiB. */
  maxArtifactSizeBytes?: number;
  /** How long final updates may be answered 202 before the state is applied anyway; default 300 s. */
  finalUpdateGiveUpSeconds?: number;
  /** Runner tokens expire this many seconds after they are issued; default: never (`token_expires_at: null`). */
  tokenExpiresInSeconds?: number | null;
  /** Recorded request bodies are cut at this size; default 64 KiB. */
  recordBodyLimitBytes?: number;
  /** At most this many requests are kept (the oldest are dropped); default 10 000. */
  recordLimit?: number;
  /** PATH used to find `git` for `git http-backend`; default `/usr/local/bin:/usr/bin:/bin`. */
  gitPath?: string;
  /** Parent of the temporary artifacts directory when `dataDir` is absent; default the OS temporary directory. */
  temporaryDirectory?: string;
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
}

/** A running fake GitLab. */
export interface Coordinator extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:40123` (with the path prefix, if any). */
  readonly url: string;
  readonly port: number;
  readonly registrationToken: string;
  readonly personalAccessToken: string;
  /** Creates a runner as GitLab's UI does (a `glrt-` token) or, with `tokenKind: 'registered'`, a legacy one. */
  createRunner(options?: NewRunnerOptions): RunnerView;
  /** Changes a runner's settings (its queue value changes). */
  updateRunner(
    id: number,
    changes: {
      paused?: boolean;
      tags?: string[];
      runUntagged?: boolean;
      accessLevel?: 'not_protected' | 'ref_protected';
    },
  ): RunnerView;
  runners(): RunnerView[];
  /** Queues a job from a wire payload; `id` and `token` are filled when missing. */
  createJob(payload: Record<string, unknown>, options?: NewJobOptions): { id: number; token: string };
  job(id: number): JobView | undefined;
  jobs(): JobView[];
  /** The stored trace bytes. */
  trace(id: number): Buffer;
  cancelJob(id: number, options?: { force?: boolean }): JobView;
  /** Plays a manual (or delayed) job of a pipeline, as GitLab's play button does; it becomes pending. */
  playJob(id: number): JobView;
  setJobStatus(id: number, status: JobStatus): JobView;
  inject(fault: Fault | readonly Fault[]): void;
  clearFaults(): void;
  /** Every runner-API request received (admin calls excluded), oldest first. */
  requests(filter?: { endpoint?: Endpoint; jobId?: number }): RecordedRequest[];
  clearRequests(): void;
  /** Serves a git checkout over smart HTTP as `local/<directory name>`; returns its project path and clone URL. */
  serveProject(directory: string): { projectPath: string; repoUrl: (jobToken: string) => string };
  close(): Promise<void>;
}

function resolveOptions(options: CoordinatorOptions): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CoordinatorError('COORDINATOR_INVALID_OPTIONS', `port must be an integer 0–65535, got ${port}`);
  }
  const prefix = (options.pathPrefix ?? '').replace(/\/+$/, '');
  if (prefix !== '' && !prefix.startsWith('/')) {
    throw new CoordinatorError('COORDINATOR_INVALID_OPTIONS', `pathPrefix must start with "/", got "${prefix}"`);
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    dataDir: options.dataDir ? resolve(options.dataDir) : null,
    pathPrefix: prefix,
    registrationEnabled: options.registrationEnabled ?? true,
    longPollingSeconds: options.longPollingSeconds ?? 0,
    traceUpdateIntervalSeconds: options.traceUpdateIntervalSeconds ?? 3,
    traceSizeLimitBytes: options.traceSizeLimitBytes ?? 100 * 1024 * 1024,
    maxArtifactSizeBytes: options.maxArtifactSizeBytes ?? 1024 * 1024 * 1024,
    finalUpdateGiveUpSeconds: options.finalUpdateGiveUpSeconds ?? 300,
    tokenExpiresInSeconds: options.tokenExpiresInSeconds ?? null,
    recordBodyLimitBytes: options.recordBodyLimitBytes ?? 64 * 1024,
    recordLimit: options.recordLimit ?? 10_000,
    gitPath: options.gitPath ?? '/usr/local/bin:/usr/bin:/bin',
    temporaryDirectory: options.temporaryDirectory ?? tmpdir(),
  };
}

/** Starts the fake GitLab and resolves once it listens. */
export async function createCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const core = new CoordinatorCore(
    resolveOptions(options),
    { registrationToken: options.registrationToken, personalAccessToken: options.personalAccessToken },
    options.clock ?? Date.now,
  );
  const pipelines = createPipelineDriver(core);
  core.pipelineDriver = pipelines;
  core.pipelineHooks = pipelines;
  await core.listen();
  return wrap(core);
}

/** The CLI's entry: `runnerkit coordinator --listen HOST:PORT --data DIR --registration-token T`. */
export function startCoordinator(options: {
  host?: string;
  port?: number;
  dataDir?: string;
  registrationToken?: string;
}): Promise<Coordinator> {
  return createCoordinator(options);
}

export function wrap(core: CoordinatorCore): Coordinator {
  const requireJob = (id: number) => {
    const job = core.store.jobs.get(id);
    if (!job) throw new CoordinatorError('COORDINATOR_NOT_FOUND', `no job ${id}`);
    return job;
  };
  const view = (id: number) => jobView(requireJob(id), core.store.trace(id).read());
  const port = Number(new URL(core.url).port);
  const handle: Coordinator = {
    url: core.url,
    port,
    registrationToken: core.registrationToken,
    personalAccessToken: core.personalAccessToken,
    createRunner: (runnerOptions = {}) => runnerView(core.addRunner(runnerOptions)),
    updateRunner: (id, changes) => runnerView(core.updateRunner(id, changes)),
    runners: () => [...core.store.runners.values()].map(runnerView),
    createJob: (payload, jobOptions) => {
      const job = core.addJob(payload, jobOptions);
      return { id: job.id, token: job.token };
    },
    job: (id) => (core.store.jobs.has(id) ? view(id) : undefined),
    jobs: () => [...core.store.jobs.keys()].map(view),
    trace: (id) => Buffer.from(core.store.trace(id).read()),
    cancelJob: (id, cancelOptions = {}) => {
      core.cancelJob(id, cancelOptions.force === true);
      return view(id);
    },
    playJob: (id) => {
      requireJob(id);
      const played = core.pipelineDriver?.play?.(id) ?? { error: 'pipelines are not available', status: 404 };
      if ('error' in played) {
        throw new CoordinatorError(
          played.status === 404 ? 'COORDINATOR_NOT_FOUND' : 'COORDINATOR_INVALID_REQUEST',
          played.error,
        );
      }
      return view(id);
    },
    setJobStatus: (id, status) => {
      core.setStatus(requireJob(id), status);
      return view(id);
    },
    inject: (fault) => {
      for (const entry of Array.isArray(fault) ? fault : [fault]) core.applyFault(entry as Fault);
    },
    clearFaults: () => core.faults.clear(),
    requests: (filter = {}) =>
      core.recorded.filter(
        (entry) =>
          (filter.endpoint === undefined || entry.endpoint === filter.endpoint) &&
          (filter.jobId === undefined || entry.path.startsWith(`/api/v4/jobs/${filter.jobId}`)),
      ),
    clearRequests: () => {
      core.recorded.length = 0;
    },
    serveProject: (directory) => {
      const absolute = resolve(directory);
      const projectPath = projectPathFor(absolute);
      core.projects.set(projectPath, absolute);
      return {
        projectPath,
        repoUrl: (jobToken: string) => {
          const base = new URL(core.url);
          return `${base.protocol}//gitlab-ci-token:${jobToken}@${base.host}${base.pathname.replace(/\/$/, '')}/${projectPath}.git`;
        },
      };
    },
    close: () => core.close(),
    [Symbol.asyncDispose]: () => core.close(),
  };
  return handle;
}
