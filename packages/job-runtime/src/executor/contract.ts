// The executor contract: what the runtime needs from a place that can run a job's shell scripts.
import type { PayloadArtifact, PayloadDependency, RuntimeJobPayload } from '../job/payload.js';
import type { JobVariables } from '../variables/variables.js';

/** Shells the runtime writes scripts for. Anything else fails with `ShellNotSupportedError`. */
export type ShellName = 'bash' | 'sh';

/**
 * Stage names, as GitLab Runner names them; each is also the trace section name.
 * `step_<name>` is one per payload step except `after_script` (normally `step_script`, also `step_release`).
 */
export type StageName =
  | 'prepare_executor'
  | 'prepare_script'
  | 'get_sources'
  | 'clear_worktree'
  | 'restore_cache'
  | 'download_artifacts'
  | `step_${string}`
  | 'after_script'
  | 'archive_cache'
  | 'archive_cache_on_failure'
  | 'upload_artifacts_on_success'
  | 'upload_artifacts_on_failure'
  | 'cleanup_file_variables';

/** The fixed stages in the order they can run (user steps sit where `step_script` is). */
export const STAGE_ORDER: readonly StageName[] = [
  'prepare_executor',
  'prepare_script',
  'get_sources',
  'clear_worktree',
  'restore_cache',
  'download_artifacts',
  'step_script',
  'after_script',
  'archive_cache',
  'archive_cache_on_failure',
  'upload_artifacts_on_success',
  'upload_artifacts_on_failure',
  'cleanup_file_variables',
];

/**
 * Stages GitLab runs in its helper ("predefined") container; the others run in the build container.
 * Docker may use the flag to pick a container; SSH and shell ignore it.
 */
export function isPredefinedStage(stage: StageName): boolean {
  return !(stage.startsWith('step_') || stage === 'after_script');
}

/** Where the executor keeps builds and caches, known before `prepare` (from its configuration). */
export interface ExecutorDirectories {
  /** `builds_dir` as the job's shell sees it (Docker `/builds`, SSH `builds` relative to the login dir). */
  buildsDir: string;
  /** `cache_dir` as the job's shell sees it (Docker `/cache`, SSH `cache`). */
  cacheDir: string;
  /**
   * Several jobs share `buildsDir` (SSH, shell; Docker when builds_dir is on a host-bound volume): the project
   * directory is then nested as `<buildsDir>/<short token>/<concurrent project id>/<slug>`.
   */
  sharedBuildsDir: boolean;
  /** `[runners.custom_build_dir] enabled`: whether `GIT_CLONE_PATH` may choose the project directory. */
  customBuildDir: boolean;
}

/** The directories of one job, computed by the runtime from {@link ExecutorDirectories} (job-execution §3.2). */
export interface JobDirectories {
  buildsDir: string;
  /** `CI_PROJECT_DIR`: where sources are checked out and every script stage starts. */
  projectDir: string;
  /** `RUNNER_TEMP_PROJECT_DIR` = projectDir + `.tmp`: file variables, `gitlab_runner_env`. */
  tmpDir: string;
  cacheDir: string;
  /** `<cacheDir>/<slug>`: where this project's local cache archives live. */
  projectCacheDir: string;
  /** The project path slug, e.g. `group/project`. */
  slug: string;
}

/** A job as the runtime hands it to the executor: everything resolved, nothing left to read from config. */
export interface JobContext {
  readonly payload: RuntimeJobPayload;
  /** The final variable list (job-execution §4.1), expanded, with lookup; file variables carry their content. */
  readonly variables: JobVariables;
  readonly directories: JobDirectories;
  readonly shell: ShellName;
  /** Every known feature flag, resolved (config > variables > default). */
  readonly featureFlags: Readonly<Record<string, boolean>>;
  /** Job timeout in seconds (payload `runner_info.timeout`, 7200 when ≤ 0). */
  readonly timeoutSeconds: number;
  /** `CI_RUNNER_SHORT_TOKEN`. */
  readonly shortToken: string;
  readonly concurrentId: number;
  readonly concurrentProjectId: number;
}

/** The job log, as an executor may write to it. Every byte goes through masking, limits and timestamps. */
export interface JobLog {
  /** Plain runner line (`\e[0K<text>\e[0;m`). */
  println(text: string): void;
  /** Bold green line. */
  info(text: string): void;
  /** Yellow `WARNING: ` line. */
  warning(text: string): void;
  /** Bold red `ERROR: ` line. */
  error(text: string): void;
}

/** Receives a running stage's output as it arrives; the bytes go to the trace in order. */
export interface StageOutput {
  write(chunk: Uint8Array | string, stream: 'stdout' | 'stderr'): void;
}

export interface PrepareRequest {
  readonly job: JobContext;
  /** The preamble (`Using Docker executor with image …`) goes here, inside the `prepare_executor` section. */
  readonly log: JobLog;
  /** Aborted on job timeout, prepare timeout or hard cancel: stop pulling/creating and reject. */
  readonly signal: AbortSignal;
}

export interface RunRequest {
  readonly stage: StageName;
  /** A complete script for `job.shell`, to be fed to the shell's stdin (then closed). */
  readonly script: string;
  /** True for stages GitLab runs in its helper container (see {@link isPredefinedStage}). */
  readonly predefined: boolean;
  /** Stdout and stderr of the script, streamed while it runs. */
  readonly output: StageOutput;
  /**
   * Aborted when the stage must stop (job timeout, script timeout, after_script timeout, cancel). The executor
   * stops what it started (SIGTERM, then kill) and settles promptly; the runtime ignores the result of an
   * aborted run and reports `signal.reason` instead.
   */
  readonly signal: AbortSignal;
}

export interface RunResult {
  /** The shell's exit status (signed 32-bit). 0 = success; anything else fails a script stage. */
  exitCode: number;
}

/**
 * The executor contract. One `Executor` object serves exactly one job; create a new one per job.
 *
 * Lifecycle, as the runtime calls it:
 *
 * 1. The runtime reads `name`, `shell`, `directories` and `environment` (synchronously, before anything else)
 *    to compute the job's directories and variables.
 * 2. `prepare(request)` once: connect, pull, create what the job needs. Prints its preamble through
 *    `request.log`. Throw {@link ExecutorError} with a failure reason (`image_pull_failure`,
 *    `runner_configuration_error`, …) for classified failures; anything else is `runner_system_failure`.
 *    Unclassified failures are retried up to 3 times by the runtime (after `cleanup()` of the failed attempt).
 * 3. `run(request)` once per script stage, strictly one at a time, in stage order (prepare_script,
 *    get_sources, …, step_script, after_script, …, cleanup_file_variables). A non-zero exit code is a result,
 *    not an error: throw only when the script could not be run at all (connection lost, container vanished).
 *    Every run starts a fresh shell in the job environment: shell state does not carry over; files do.
 * 4. Optional `stages` handlers replace the script of a stage that must be done differently by this executor
 *    (e.g. Docker fetches sources on the host and streams them in). The runtime still opens the section and
 *    applies the stage's failure rules.
 * 5. `cleanup()` always, exactly when the job is over — also after a failed or aborted `prepare`, and after
 *    cancellation. It MUST be idempotent (a second call is a no-op), MUST NOT throw, and removes whatever
 *    `prepare` or `run` created. It gets its own time budget; it is never given the job's aborted signal.
 *
 * Cancellation is an `AbortSignal` on every call; nothing else (no cancel method). Calls never overlap for one
 * executor object, so an implementation needs no locking. Jobs are isolated by using one object per job.
 */
export interface Executor {
  /** Name in `Preparing the "<name>" executor` (`docker`, `ssh`, `shell`). */
  readonly name: string;
  /** Shell the scripts are written for; `pwsh`/`powershell` make the job fail with ShellNotSupportedError. */
  readonly shell: ShellName | (string & {});
  readonly directories: ExecutorDirectories;
  /**
   * `disposable`: the job environment is thrown away after the job (Docker): `CI_DISPOSABLE_ENVIRONMENT=true`.
   * `shared`: it persists (SSH, shell): `CI_SHARED_ENVIRONMENT=true`.
   */
  readonly environment: 'disposable' | 'shared';
  prepare(request: PrepareRequest): Promise<void>;
  run(request: RunRequest): Promise<RunResult>;
  cleanup(): Promise<void>;
  /** Stages this executor performs itself instead of running the runtime's script (or instead of skipping). */
  readonly stages?: StageHandlers | undefined;
}

/** A cache entry of the payload after runner-side expansion (job-execution §7). */
export interface CacheEntry {
  /** Expanded key as shown to the user (`default-non_protected`); sanitising is the store's business. */
  key: string;
  /** Expanded fallback keys, then `CACHE_FALLBACK_KEY` if allowed. */
  fallbackKeys: string[];
  paths: string[];
  untracked: boolean;
  policy: 'pull' | 'push' | 'pull-push';
  when: 'on_success' | 'on_failure' | 'always';
}

export interface StageHandlerContext {
  readonly job: JobContext;
  readonly log: JobLog;
  /** Raw output of the handler's own work (e.g. git's progress), treated as stage output. */
  readonly output: StageOutput;
  readonly signal: AbortSignal;
  readonly ports: RuntimePorts;
  /** Runs a script in the job's shell as part of this stage (same as the executor's `run`). */
  runScript(script: string): Promise<RunResult>;
}

/**
 * Stage implementations an executor provides. For each stage present here the runtime calls the handler
 * inside the stage's section instead of running a script. A handler throws to fail the stage
 * (cache stages never fail the job; the runtime turns their errors into `Failed to …` warnings).
 * Stages absent here: `get_sources` runs the runtime's git script; cache and artifact stages print
 * GitLab's `Missing … is disabled` warning.
 */
export interface StageHandlers {
  getSources?(context: StageHandlerContext): Promise<void>;
  restoreCache?(context: StageHandlerContext, entries: readonly CacheEntry[]): Promise<void>;
  downloadArtifacts?(context: StageHandlerContext, dependencies: readonly PayloadDependency[]): Promise<void>;
  archiveCache?(context: StageHandlerContext, entries: readonly CacheEntry[], jobFailed: boolean): Promise<void>;
  uploadArtifacts?(
    context: StageHandlerContext,
    entries: readonly PayloadArtifact[],
    jobFailed: boolean,
  ): Promise<void>;
}

/** A chunk source: what the ports accept and return. Node streams and web streams are both async iterables. */
export type ByteSource = AsyncIterable<Uint8Array>;

/** Where cache archives live beyond the job environment (S3, GCS, Azure, a local dir). */
export interface CacheStore {
  /** The archive stored under `key`, or `undefined` when there is none. */
  get(key: string, signal?: AbortSignal): Promise<ByteSource | undefined>;
  put(key: string, body: ByteSource, signal?: AbortSignal): Promise<void>;
}

export interface ArtifactUpload {
  /** File name (`default.zip`, `junit.xml.gz`). */
  name: string;
  artifactType: string;
  artifactFormat: string;
  expireIn?: string | undefined;
  body: ByteSource;
}

/** GitLab's artifacts API as the runtime needs it (the job-api-client satisfies it). */
export interface ArtifactStore {
  download(dependency: { id: number; token: string; name: string }, signal?: AbortSignal): Promise<ByteSource>;
  upload(artifact: ArtifactUpload, signal?: AbortSignal): Promise<void>;
}

/** Receives the final trace bytes (masked, limited, framed) exactly once each, in order. */
export interface TraceSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

/** The outside services stage handlers may use; absent ports disable what needs them. */
export interface RuntimePorts {
  readonly cache?: CacheStore | undefined;
  readonly artifacts?: ArtifactStore | undefined;
}
