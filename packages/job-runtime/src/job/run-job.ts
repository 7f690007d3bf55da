// The job driver: runs one job through an executor in GitLab Runner's stage order (job-execution §2).
import {
  type ExecutorError,
  type RuntimeFailureReason,
  RuntimeError,
  ShellNotSupportedError,
  StageFailedError,
} from '../errors.js';
import {
  type CacheEntry,
  type Executor,
  isPredefinedStage,
  type JobContext,
  type JobLog,
  type RunResult,
  type RuntimePorts,
  type ShellName,
  type StageHandlerContext,
  type StageName,
  type StageOutput,
  type TraceSink,
} from '../executor/contract.js';
import {
  afterScript,
  cleanupScript,
  getSourcesScript,
  prepareScript,
  type ScriptJob,
  stepScript,
} from '../shell/stages.js';
import { ANSI, type ScriptStyle } from '../shell/writer.js';
import { type TraceSummary, TraceWriter } from '../trace/writer.js';
import { describeChangedFlags, resolveFeatureFlags } from '../variables/feature-flags.js';
import { type JobVariable, JobVariables } from '../variables/variables.js';
import { formatGoDuration, jobDirectories, projectSlug, shortToken } from './identifiers.js';
import type { PayloadArtifact, RuntimeJobPayload } from './payload.js';
import { type JobSettings, readSettings } from './settings.js';

/** What the runner's configuration and build say; the CLI fills it (the runtime reads no config). */
export interface RunnerSettings {
  /** Product name in the header: `Running with <name> <version> (<revision>)`. */
  product?: string | undefined;
  version: string;
  revision: string;
  /** `<os>/<arch>` in Go naming, e.g. `linux/amd64` (`CI_RUNNER_EXECUTABLE_ARCH`). */
  executableArch?: string | undefined;
  /** `[[runners]] name`, shown in the header with the short token. */
  name?: string | undefined;
  /** The runner token (only its short form is shown or exported). */
  token: string;
  systemId?: string | undefined;
  /** Host name shown as `Running on <host> via <this>...`. */
  hostname?: string | undefined;
  /** `[[runners]] environment`: `KEY=VALUE` entries (entries without `=` are ignored). */
  environment?: readonly string[] | undefined;
  /** `[runners.feature_flags]` as config-schema resolved them; absent flags come from variables or defaults. */
  featureFlags?: Readonly<Record<string, boolean>> | undefined;
  /** `output_limit` in KiB (default 4096). */
  outputLimitKiB?: number | undefined;
  preGetSourcesScript?: string | undefined;
  postGetSourcesScript?: string | undefined;
  preBuildScript?: string | undefined;
  postBuildScript?: string | undefined;
  debugTraceDisabled?: boolean | undefined;
  /** The GitLab URL; when empty, artifact upload stages are skipped. */
  url?: string | undefined;
  /** `prepare_timeout` and `get_sources_timeout` in seconds (default: the job timeout). */
  prepareTimeoutSeconds?: number | undefined;
  getSourcesTimeoutSeconds?: number | undefined;
}

/** Reason given to `abortSignal.abort()` when the runner process is being stopped. */
export class RunnerInterrupt {
  readonly signal: string;
  constructor(signal = 'SIGTERM') {
    this.signal = signal;
  }
}

export type RuntimeEvent =
  | { type: 'job-start'; jobId: number }
  | { type: 'section-start'; stage: StageName }
  | { type: 'section-end'; stage: StageName; exitCode?: number | undefined; error?: string | undefined }
  | { type: 'job-end'; outcome: JobOutcome };

export type JobOutcome =
  | { status: 'success' }
  | {
      status: 'failed';
      failureReason: RuntimeFailureReason;
      /** Exit code of the failing script, for `script_failure`. */
      exitCode?: number | undefined;
      /** The text after `ERROR: Job failed: `. */
      message: string;
    };

export interface JobResult {
  outcome: JobOutcome;
  trace: TraceSummary;
}

export interface RunJobOptions {
  payload: RuntimeJobPayload;
  /** The executor for this job, or a factory (called again for each prepare attempt). */
  executor: Executor | (() => Executor);
  trace: TraceSink;
  runner: RunnerSettings;
  concurrentId?: number | undefined;
  concurrentProjectId?: number | undefined;
  ports?: RuntimePorts | undefined;
  /** Graceful cancel (`canceling`): stops the script; after_script and on_failure stages still run. */
  cancelSignal?: AbortSignal | undefined;
  /** Hard abort (`canceled`, 403, runner stop with {@link RunnerInterrupt}): only executor cleanup runs. */
  abortSignal?: AbortSignal | undefined;
  /** Milliseconds since the epoch. */
  clock?: (() => number) | undefined;
  onEvent?: ((event: RuntimeEvent) => void) | undefined;
  /** Delay between prepare attempts (GitLab: 3 s). */
  prepareRetryDelayMs?: number | undefined;
  /** How long to wait for an aborted stage to settle (GitLab: 5 min). */
  abortGraceMs?: number | undefined;
  /** Budget of `executor.cleanup()` (GitLab: 5 min). */
  cleanupTimeoutMs?: number | undefined;
}

type Failure =
  | { kind: 'exit'; exitCode: number }
  | { kind: 'job-timeout' }
  | { kind: 'script-timeout' }
  | { kind: 'canceled' }
  | { kind: 'interrupted'; signal: string }
  | {
      kind: 'error';
      reason: RuntimeFailureReason;
      message: string;
      /** Printed as `ERROR: Job failed (system failure): …`. */
      systemFailure: boolean;
      /** The executor chose the reason (no prepare retry). */
      classified: boolean;
    };

class JobTimeout {}
class ScriptTimeout {}
class StageTimeout {}

const STAGE_DESCRIPTIONS: Record<string, string> = {
  prepare_script: 'Preparing environment',
  get_sources: 'Getting source from Git repository',
  restore_cache: 'Restoring cache',
  download_artifacts: 'Downloading artifacts',
  after_script: 'Running after_script',
  archive_cache: 'Saving cache for successful job',
  archive_cache_on_failure: 'Saving cache for failed job',
  upload_artifacts_on_success: 'Uploading artifacts for successful job',
  upload_artifacts_on_failure: 'Uploading artifacts for failed job',
  cleanup_file_variables: 'Cleaning up project directory and file based variables',
};

const TIMEOUT_HELP =
  'For more control over job and script timeouts see: https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function classify(error: unknown): Failure {
  if (RuntimeError.isInstance(error) && 'failureReason' in error) {
    const reason = (error as ExecutorError).failureReason;
    return {
      kind: 'error',
      reason,
      message: error.message,
      systemFailure: reason === 'runner_system_failure',
      classified: true,
    };
  }
  if (error instanceof ShellNotSupportedError)
    return {
      kind: 'error',
      reason: 'runner_configuration_error',
      message: error.message,
      systemFailure: false,
      classified: true,
    };
  if (RuntimeError.isInstance(error) && (error as RuntimeError).code === 'JOB_RUNTIME_STAGE_FAILED')
    return {
      kind: 'error',
      reason: 'script_failure',
      message: errorMessage(error),
      systemFailure: false,
      classified: true,
    };
  return {
    kind: 'error',
    reason: 'runner_system_failure',
    message: errorMessage(error),
    systemFailure: true,
    classified: false,
  };
}

function failureFromSignal(signal: AbortSignal): Failure | undefined {
  if (!signal.aborted) return undefined;
  const reason: unknown = signal.reason;
  if (reason instanceof JobTimeout) return { kind: 'job-timeout' };
  if (reason instanceof ScriptTimeout || reason instanceof StageTimeout) return { kind: 'script-timeout' };
  if (reason instanceof RunnerInterrupt) return { kind: 'interrupted', signal: reason.signal };
  return { kind: 'canceled' };
}

function timeoutSignal(ms: number, reason: unknown): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason), ms);
  timer.unref?.();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Waits for `promise`, but once `signal` aborts waits at most `graceMs` more; then settles with the abort. */
async function settleOrAbort<T>(promise: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  promise.catch(() => {});
  if (signal.aborted) {
    const settled = new AbortController();
    await Promise.race([promise.catch(() => {}), delay(graceMs, settled.signal)]);
    settled.abort();
    throw signal.reason;
  }
  return await new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const timer = setTimeout(() => reject(signal.reason), graceMs);
      timer.unref?.();
      promise.then(
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return;
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return;
        reject(error);
      },
    );
  });
}

function entriesOf(environment: readonly string[] | undefined): JobVariable[] {
  const list: JobVariable[] = [];
  for (const entry of environment ?? []) {
    const equals = entry.indexOf('=');
    if (equals <= 0) continue;
    list.push({ key: entry.slice(0, equals), value: entry.slice(equals + 1), internal: true });
  }
  return list;
}

function payloadVariables(payload: RuntimeJobPayload): JobVariable[] {
  return (payload.variables ?? []).map((variable) => ({
    key: variable.key,
    value: variable.value ?? '',
    public: variable.public ?? undefined,
    masked: variable.masked ?? undefined,
    file: variable.file ?? undefined,
    raw: variable.raw ?? undefined,
  }));
}

function whenApplies(when: string | null | undefined, failed: boolean): boolean {
  const value = when || 'on_success';
  if (value === 'always') return true;
  return failed ? value === 'on_failure' : value === 'on_success';
}

/** Everything resolved before the first stage: variables, directories, settings, scripts' style. */
interface PreparedJob {
  context: JobContext;
  settings: JobSettings;
  style: ScriptStyle;
  warnings: string[];
}

function resolveJob(options: RunJobOptions, executor: Executor): PreparedJob {
  const { payload, runner } = options;
  const warnings: string[] = [];
  const shell = executor.shell;
  if (shell !== 'bash' && shell !== 'sh') throw new ShellNotSupportedError(shell);
  const short = shortToken(runner.token);
  const concurrentId = options.concurrentId ?? 0;
  const concurrentProjectId = options.concurrentProjectId ?? 0;
  const timeoutSeconds =
    payload.runner_info?.timeout && payload.runner_info.timeout > 0 ? payload.runner_info.timeout : 7200;
  const environment = entriesOf(runner.environment);
  const jobVariables = payloadVariables(payload);
  const preliminary = new JobVariables([...environment, ...jobVariables], '');
  const featureFlags = resolveFeatureFlags(runner.featureFlags ?? {}, (key) => preliminary.content(key), warnings);
  const lookup = (key: string) => preliminary.content(key);
  const jobTimeoutMs = timeoutSeconds * 1000;
  const settings = readSettings(
    {
      lookup,
      allowGitFetch: payload.allow_git_fetch === true,
      depth: payload.git_info?.depth ?? 0,
      jobTimeoutMs,
      debugTraceDisabled: runner.debugTraceDisabled === true,
    },
    warnings,
  );
  const slug = projectSlug(payload.git_info?.repo_url, payload.job_info?.project_id);
  const rawClonePath = preliminary.content('GIT_CLONE_PATH');
  const clonePath = rawClonePath
    ? new JobVariables(
        [...preliminary.list, { key: 'CI_BUILDS_DIR', value: executor.directories.buildsDir }],
        '',
      ).expand(rawClonePath)
    : undefined;
  const directories = jobDirectories({
    executor: executor.directories,
    slug,
    shortToken: short,
    concurrentProjectId,
    gitStrategy: settings.gitStrategy,
    clonePath,
  });

  const list: JobVariable[] = [];
  for (const [name, value] of Object.entries(featureFlags))
    list.push({ key: name, value: String(value), internal: true });
  const unexpanded = new JobVariables([...environment, ...jobVariables], directories.tmpDir);
  if (payload.image?.name)
    list.push({ key: 'CI_JOB_IMAGE', value: unexpanded.expand(payload.image.name), internal: true });
  list.push({ key: 'CI_RUNNER_SHORT_TOKEN', value: short, internal: true });
  list.push(...environment);
  list.push(
    { key: 'CI_BUILDS_DIR', value: directories.buildsDir, internal: true },
    { key: 'CI_PROJECT_DIR', value: directories.projectDir, internal: true },
    { key: 'CI_CONCURRENT_ID', value: String(concurrentId), internal: true },
    { key: 'CI_CONCURRENT_PROJECT_ID', value: String(concurrentProjectId), internal: true },
    { key: 'CI_SERVER', value: 'yes', internal: true },
    { key: 'CI_JOB_STATUS', value: 'running', internal: true },
    { key: 'CI_JOB_TIMEOUT', value: String(timeoutSeconds), internal: true },
  );
  list.push(...jobVariables.filter((variable) => !variable.key.startsWith('FF_')));
  list.push(
    executor.environment === 'disposable'
      ? { key: 'CI_DISPOSABLE_ENVIRONMENT', value: 'true', internal: true }
      : { key: 'CI_SHARED_ENVIRONMENT', value: 'true', internal: true },
  );
  list.push(
    { key: 'CI_RUNNER_VERSION', value: runner.version, internal: true },
    { key: 'CI_RUNNER_REVISION', value: runner.revision, internal: true },
    { key: 'CI_RUNNER_EXECUTABLE_ARCH', value: runner.executableArch ?? 'linux/amd64', internal: true },
    { key: 'RUNNER_TEMP_PROJECT_DIR', value: directories.tmpDir, internal: true },
  );
  if (featureFlags.FF_NETWORK_PER_BUILD) {
    const name = `runner-${short}-${payload.job_info?.project_id ?? 0}-${concurrentProjectId}-${payload.id}`
      .toLowerCase()
      .replace(/[^-a-z0-9]/g, '')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 63);
    list.push({ key: 'CI_BUILD_NETWORK_NAME', value: name, internal: true });
  }
  const variables = new JobVariables(list, directories.tmpDir).expanded();
  const style: ScriptStyle = {
    shell: shell as ShellName,
    posixEscapes: featureFlags.FF_POSIXLY_CORRECT_ESCAPES,
    debugTrace: settings.debugTrace,
    legacyEval: featureFlags.FF_USE_LEGACY_BASH_EVAL,
    exitCodeCheck: featureFlags.FF_ENABLE_BASH_EXIT_CODE_CHECK,
    scriptSections: featureFlags.FF_SCRIPT_SECTIONS && payload.features?.trace_sections === true,
  };
  return {
    context: {
      payload,
      variables,
      directories,
      shell: shell as ShellName,
      featureFlags,
      timeoutSeconds,
      shortToken: short,
      concurrentId,
      concurrentProjectId,
    },
    settings,
    style,
    warnings,
  };
}

function repositoryUrls(repoUrl: string): { plain: string; authenticated: string } {
  try {
    const url = new URL(repoUrl);
    const authenticated = url.toString();
    url.username = '';
    url.password = '';
    return { plain: url.toString(), authenticated };
  } catch {
    return { plain: repoUrl, authenticated: repoUrl };
  }
}

function cacheEntries(context: JobContext): CacheEntry[] {
  const { payload, variables } = context;
  const entries: CacheEntry[] = [];
  for (const cache of payload.cache ?? []) {
    if ((cache.paths ?? []).length === 0 && !cache.untracked) continue;
    let key = variables.expand(cache.key ?? '');
    if (key === '') key = `${payload.job_info?.name ?? ''}/${payload.git_info?.ref ?? ''}`;
    const fallbackKeys = (cache.fallback_keys ?? []).map((fallback) => variables.expand(fallback));
    const globalFallback = variables.get('CACHE_FALLBACK_KEY');
    if (globalFallback) fallbackKeys.push(variables.expand(globalFallback));
    const policy = variables.expand(cache.policy ?? '') || 'pull-push';
    entries.push({
      key,
      fallbackKeys,
      paths: [...(cache.paths ?? [])],
      untracked: cache.untracked === true,
      policy: policy as CacheEntry['policy'],
      when: (cache.when || 'on_success') as CacheEntry['when'],
    });
  }
  return entries;
}

/**
 * Runs one job to its end and reports the outcome. Never throws for job or executor failures: they become the
 * outcome (and the trace's last line). The trace sink receives every byte once, in order.
 */
export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const { payload, runner } = options;
  const clock = options.clock ?? (() => performance.timeOrigin + performance.now());
  const abortGraceMs = options.abortGraceMs ?? 5 * 60_000;
  const emit = (event: RuntimeEvent) => options.onEvent?.(event);
  const createExecutor = typeof options.executor === 'function' ? options.executor : undefined;
  let executor: Executor = typeof options.executor === 'function' ? options.executor() : options.executor;
  const executorsToClean = new Set<Executor>([executor]);

  // Masking must be in place before the first byte, so resolve the job before the header.
  let prepared: PreparedJob | undefined;
  let resolveError: unknown;
  try {
    prepared = resolveJob(options, executor);
  } catch (error) {
    resolveError = error;
  }
  // Payload values are masked even when resolving the job failed (the error line must not leak them).
  const masked = [
    payload.token,
    ...(payload.variables ?? []).filter((entry) => entry.masked).map((entry) => (entry.value ?? '').trim()),
    ...(prepared?.context.variables.maskedValues() ?? []),
  ].filter((value) => value !== '');
  const featureFlags = prepared?.context.featureFlags ?? {};
  const trace = new TraceWriter({
    sink: options.trace,
    masking: {
      phrases: masked,
      maskAllDefaultTokens: featureFlags.FF_MASK_ALL_DEFAULT_TOKENS !== false,
      extraTokenPrefixes: payload.features?.token_mask_prefixes ?? undefined,
    },
    timestamps: featureFlags.FF_TIMESTAMPS ?? true,
    outputLimit: (runner.outputLimitKiB ?? 4096) * 1024,
    clock,
  });
  const log: JobLog = {
    println: (text) => trace.println(text),
    info: (text) => trace.info(text),
    warning: (text) => trace.warning(text),
    error: (text) => trace.error(text),
  };
  const sections = payload.features?.trace_sections === true;
  emit({ type: 'job-start', jobId: payload.id });

  trace.println(`Running with ${runner.product ?? 'runnerkit'} ${runner.version} (${runner.revision})`);
  if (runner.token) {
    const system = runner.systemId ? `, system ID: ${runner.systemId}` : '';
    trace.println(`  on ${[runner.name, shortToken(runner.token)].filter(Boolean).join(' ')}${system}`);
  }
  const changed = describeChangedFlags(featureFlags);
  if (changed) trace.println(`  feature flags: ${changed}`);
  for (const warning of prepared?.warnings ?? []) trace.warning(warning);

  const timeoutSeconds = prepared?.context.timeoutSeconds ?? 7200;
  const jobTimer = timeoutSignal(timeoutSeconds * 1000, new JobTimeout());
  const jobSignal = options.abortSignal ? AbortSignal.any([options.abortSignal, jobTimer.signal]) : jobTimer.signal;
  // The script context: job context + graceful cancel.
  const scriptSignal = options.cancelSignal ? AbortSignal.any([jobSignal, options.cancelSignal]) : jobSignal;

  let jobError: Failure | undefined;
  let executorReady = false;
  let skipCleanupStage = false;
  let afterScriptCounts: Failure | undefined;

  const output = (): StageOutput => ({
    write: (chunk, stream) => trace.write(chunk, stream),
  });

  const openSection = (stage: StageName, description: string | undefined) => {
    if (sections) trace.sectionStart(stage);
    if (description) trace.println(`${ANSI.boldCyan}${description}${ANSI.reset}`);
    emit({ type: 'section-start', stage });
  };
  const closeSection = (stage: StageName, failure?: Failure) => {
    trace.flushStreams();
    if (sections) trace.sectionEnd(stage);
    emit({
      type: 'section-end',
      stage,
      exitCode: failure?.kind === 'exit' ? failure.exitCode : undefined,
      error: failure ? describeFailure(failure) : undefined,
    });
  };

  /** Runs a script through the executor; returns the failure, if any. */
  const runScript = async (
    stage: StageName,
    script: string,
    signal: AbortSignal,
    sink: StageOutput = output(),
  ): Promise<Failure | undefined> => {
    try {
      const result: RunResult = await settleOrAbort(
        executor.run({ stage, script, predefined: isPredefinedStage(stage), output: sink, signal }),
        signal,
        abortGraceMs,
      );
      if (result.exitCode !== 0) return { kind: 'exit', exitCode: result.exitCode | 0 };
      return undefined;
    } catch (error) {
      return failureFromSignal(signal) ?? classify(error);
    }
  };

  const handlerContext = (signal: AbortSignal, stage: StageName): StageHandlerContext => {
    const sink = output();
    return {
      job: prepared!.context,
      log,
      output: sink,
      signal,
      ports: options.ports ?? {},
      runScript: (script) =>
        executor.run({ stage, script, predefined: isPredefinedStage(stage), output: sink, signal }),
    };
  };

  const runHandler = async (signal: AbortSignal, work: () => Promise<void>): Promise<Failure | undefined> => {
    try {
      await settleOrAbort(work(), signal, abortGraceMs);
      return undefined;
    } catch (error) {
      return failureFromSignal(signal) ?? classify(error);
    }
  };

  const withAttempts = async (
    stage: StageName,
    attempts: number,
    signal: AbortSignal,
    once: () => Promise<Failure | undefined>,
  ): Promise<Failure | undefined> => {
    let failure: Failure | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) trace.warning('Retrying...');
      failure = await once();
      if (!failure || signal.aborted) return failure;
      if (failure.kind !== 'exit' && failure.kind !== 'error') return failure;
      void stage;
    }
    return failure;
  };

  try {
    // prepare_executor
    openSection('prepare_executor', `Preparing the "${executor.name}" executor`);
    let prepareFailure: Failure | undefined;
    if (resolveError !== undefined || !prepared) {
      prepareFailure = classify(resolveError);
    } else {
      const prepareTimer = runner.prepareTimeoutSeconds
        ? timeoutSignal(runner.prepareTimeoutSeconds * 1000, new JobTimeout())
        : undefined;
      const prepareSignal = prepareTimer ? AbortSignal.any([jobSignal, prepareTimer.signal]) : jobSignal;
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          await settleOrAbort(
            executor.prepare({ job: prepared.context, log, signal: prepareSignal }),
            prepareSignal,
            abortGraceMs,
          );
          prepareFailure = undefined;
          break;
        } catch (error) {
          prepareFailure = failureFromSignal(prepareSignal) ?? classify(error);
          const retryable = prepareFailure.kind === 'error' && !prepareFailure.classified && attempt < 3;
          if (!retryable) break;
          trace.error(`Preparation failed: ${errorMessage(error)}`);
          trace.println(`Will be retried in ${formatGoDuration(options.prepareRetryDelayMs ?? 3000)} ...`);
          await delay(options.prepareRetryDelayMs ?? 3000, jobSignal);
          if (createExecutor) {
            await safeCleanup(executor, options.cleanupTimeoutMs);
            executor = createExecutor();
            executorsToClean.add(executor);
          }
        }
      }
      prepareTimer?.clear();
    }
    closeSection('prepare_executor', prepareFailure);
    if (prepareFailure || !prepared) {
      jobError = prepareFailure;
      return await finish();
    }
    executorReady = true;
    const context = prepared.context;
    const scriptJob: ScriptJob = {
      variables: context.variables,
      directories: context.directories,
      style: prepared.style,
    };

    // prepare_script
    openSection('prepare_script', STAGE_DESCRIPTIONS.prepare_script);
    const prepareScriptFailure = await runScript(
      'prepare_script',
      prepareScript(scriptJob, runner.hostname),
      jobSignal,
    );
    closeSection('prepare_script', prepareScriptFailure);
    if (prepareScriptFailure) {
      jobError =
        prepareScriptFailure.kind === 'exit'
          ? {
              kind: 'error',
              reason: 'runner_system_failure',
              message: `prepare environment: exit code ${prepareScriptFailure.exitCode}. Check https://docs.gitlab.com/runner/shells/#shell-profile-loading for more information`,
              systemFailure: true,
              classified: true,
            }
          : prepareScriptFailure;
      skipCleanupStage = true;
      return await finish();
    }

    // get_sources
    const sourcesTimer = runner.getSourcesTimeoutSeconds
      ? timeoutSignal(runner.getSourcesTimeoutSeconds * 1000, new StageTimeout())
      : undefined;
    const sourcesSignal = sourcesTimer ? AbortSignal.any([scriptSignal, sourcesTimer.signal]) : scriptSignal;
    openSection('get_sources', STAGE_DESCRIPTIONS.get_sources);
    const sourcesFailure = await withAttempts('get_sources', prepared.settings.getSourcesAttempts, sourcesSignal, () =>
      executor.stages?.getSources
        ? runHandler(sourcesSignal, () => executor.stages!.getSources!(handlerContext(sourcesSignal, 'get_sources')))
        : runScript('get_sources', sourcesScript(prepared!, runner), sourcesSignal),
    );
    sourcesTimer?.clear();
    if (sourcesTimer?.signal.aborted && !scriptSignal.aborted) {
      trace.warning(`get_sources could not run to completion because the timeout was exceeded. ${TIMEOUT_HELP}`);
      closeSection('get_sources', sourcesFailure);
      jobError = { kind: 'job-timeout' };
      skipCleanupStage = true;
      return await finish();
    }
    closeSection('get_sources', sourcesFailure);
    jobError = sourcesFailure;

    // restore_cache (failures never fail the job)
    const caches = cacheEntries(context);
    if (!jobError && caches.length > 0) {
      openSection('restore_cache', STAGE_DESCRIPTIONS.restore_cache);
      const failure = await withAttempts(
        'restore_cache',
        prepared.settings.restoreCacheAttempts,
        scriptSignal,
        async () => {
          for (const entry of caches)
            if (!['pull', 'push', 'pull-push'].includes(entry.policy))
              return {
                kind: 'error',
                reason: 'script_failure',
                message: `unknown cache policy ${entry.policy} for ${entry.key}`,
                systemFailure: false,
                classified: true,
              } as Failure;
          const handler = executor.stages?.restoreCache;
          if (!handler) {
            trace.runner(
              `${ANSI.yellow}Missing cache support in the "${executor.name}" executor. Extracting cache is disabled.${ANSI.reset}\n`,
            );
            return undefined;
          }
          const result = await runHandler(scriptSignal, () =>
            handler(handlerContext(scriptSignal, 'restore_cache'), caches),
          );
          if (result?.kind === 'error') {
            trace.runner(`${ANSI.yellow}Failed to extract cache${ANSI.reset}\n`);
            return undefined;
          }
          return result;
        },
      );
      closeSection('restore_cache', failure);
      jobError = failure;
    }

    // download_artifacts
    const dependencies = (payload.dependencies ?? []).filter((dependency) => dependency.artifacts_file?.filename);
    if (!jobError && dependencies.length > 0) {
      openSection('download_artifacts', STAGE_DESCRIPTIONS.download_artifacts);
      const failure = await withAttempts(
        'download_artifacts',
        prepared.settings.artifactDownloadAttempts,
        scriptSignal,
        async () => {
          const handler = executor.stages?.downloadArtifacts;
          if (!handler) {
            trace.runner(
              `${ANSI.yellow}Missing artifacts support in the "${executor.name}" executor. Artifacts downloading is disabled.${ANSI.reset}\n`,
            );
            return undefined;
          }
          return runHandler(scriptSignal, () =>
            asStageFailure(
              'download_artifacts',
              handler(handlerContext(scriptSignal, 'download_artifacts'), dependencies),
            ),
          );
        },
      );
      closeSection('download_artifacts', failure);
      jobError = failure;
    }

    // user steps, then after_script
    if (!jobError) {
      const scriptTimer =
        prepared.settings.scriptTimeout !== undefined
          ? timeoutSignal(prepared.settings.scriptTimeout, new ScriptTimeout())
          : undefined;
      const stepSignal = scriptTimer ? AbortSignal.any([scriptSignal, scriptTimer.signal]) : scriptSignal;
      for (const step of payload.steps ?? []) {
        if (step.name === 'after_script') continue;
        const stage = `step_${step.name.toLowerCase()}` as StageName;
        openSection(stage, `Executing "${stage}" stage of the job script`);
        const script = stepScript(scriptJob, step.script ?? [], {
          preBuildScript: runner.preBuildScript,
          postBuildScript: runner.postBuildScript,
        });
        const failure = await runScript(stage, script, stepSignal);
        if (failure?.kind === 'script-timeout' || failure?.kind === 'job-timeout')
          trace.warning(`${stage} could not run to completion because the timeout was exceeded. ${TIMEOUT_HELP}`);
        if (failure?.kind === 'canceled') trace.warning('script canceled externally (UI, API)');
        closeSection(stage, failure);
        if (failure) {
          jobError = failure;
          break;
        }
      }
      scriptTimer?.clear();

      const afterStep = (payload.steps ?? []).find((step) => step.name === 'after_script');
      const afterCommands = afterStep?.script ?? [];
      if (afterCommands.length > 0 && !jobSignal.aborted) {
        const status = !jobError
          ? 'success'
          : jobError.kind === 'canceled'
            ? 'canceled'
            : jobError.kind === 'script-timeout' || jobError.kind === 'job-timeout'
              ? 'timedout'
              : 'failed';
        const afterJob: ScriptJob = {
          ...scriptJob,
          variables: context.variables.with({ key: 'CI_JOB_STATUS', value: status, internal: true }),
        };
        const afterTimer = timeoutSignal(prepared.settings.afterScriptTimeout, new StageTimeout());
        const afterSignal = AbortSignal.any([jobSignal, afterTimer.signal]);
        openSection('after_script', STAGE_DESCRIPTIONS.after_script);
        const failure = await runScript('after_script', afterScript(afterJob, afterCommands), afterSignal);
        afterTimer.clear();
        if (failure && !jobSignal.aborted) {
          if (afterTimer.signal.aborted)
            trace.warning(`after_script could not run to completion because the timeout was exceeded. ${TIMEOUT_HELP}`);
          if (prepared.settings.afterScriptIgnoreErrors)
            trace.warning(`after_script failed, but job will continue unaffected: ${describeFailure(failure)}`);
          else afterScriptCounts = failure;
        }
        closeSection('after_script', failure);
      }
      if (!jobError && afterScriptCounts) jobError = afterScriptCounts;
    }

    if (jobSignal.aborted) return await finish();
    const failed = jobError !== undefined;

    // archive_cache / archive_cache_on_failure (failures never fail the job)
    const toSave = caches.filter((entry) => whenApplies(entry.when, failed));
    if (toSave.length > 0) {
      const stage: StageName = failed ? 'archive_cache_on_failure' : 'archive_cache';
      openSection(stage, STAGE_DESCRIPTIONS[stage]);
      const handler = executor.stages?.archiveCache;
      if (!handler) {
        trace.runner(
          `${ANSI.yellow}Missing cache support in the "${executor.name}" executor. Creating cache is disabled.${ANSI.reset}\n`,
        );
        closeSection(stage);
      } else {
        const failure = await runHandler(jobSignal, () => handler(handlerContext(jobSignal, stage), toSave, failed));
        if (failure?.kind === 'error') trace.runner(`${ANSI.yellow}Failed to create cache${ANSI.reset}\n`);
        closeSection(stage, failure);
      }
    }

    // upload_artifacts_on_success / on_failure
    const artifacts: PayloadArtifact[] = (payload.artifacts ?? []).filter(
      (artifact) => whenApplies(artifact.when, failed) && ((artifact.paths ?? []).length > 0 || artifact.untracked),
    );
    if (!jobSignal.aborted && artifacts.length > 0 && runner.url) {
      const stage: StageName = failed ? 'upload_artifacts_on_failure' : 'upload_artifacts_on_success';
      openSection(stage, STAGE_DESCRIPTIONS[stage]);
      const handler = executor.stages?.uploadArtifacts;
      let failure: Failure | undefined;
      if (!handler)
        trace.runner(
          `${ANSI.yellow}Missing artifacts support in the "${executor.name}" executor. Uploading artifacts is disabled.${ANSI.reset}\n`,
        );
      else
        failure = await runHandler(jobSignal, () =>
          asStageFailure(stage, handler(handlerContext(jobSignal, stage), artifacts, failed)),
        );
      closeSection(stage, failure);
      if (failure && !jobError) jobError = failure;
    }
    return await finish();
  } catch (error) {
    jobError ??= classify(error);
    return await finish();
  }

  async function finish(): Promise<JobResult> {
    jobTimer.clear();
    const jobGone = jobSignal.aborted;
    if (jobGone) jobError = failureFromSignal(jobSignal) ?? jobError;
    if (executorReady && prepared && !skipCleanupStage && !jobGone) {
      const scriptJob: ScriptJob = {
        variables: prepared!.context.variables,
        directories: prepared!.context.directories,
        style: prepared!.style,
      };
      openSection('cleanup_file_variables', STAGE_DESCRIPTIONS.cleanup_file_variables);
      const cleanupTimer = timeoutSignal(5 * 60_000, new StageTimeout());
      const failure = await runScript('cleanup_file_variables', cleanupScript(scriptJob), cleanupTimer.signal);
      cleanupTimer.clear();
      closeSection('cleanup_file_variables', failure);
    }
    const outcome = toOutcome(jobError);
    if (outcome.status === 'success') trace.info('Job succeeded');
    else if (jobError?.kind === 'error' && jobError.systemFailure)
      trace.error(`Job failed (system failure): ${outcome.message}`);
    else trace.error(`Job failed: ${outcome.message}`);
    for (const used of executorsToClean) await safeCleanup(used, options.cleanupTimeoutMs);
    const summary = await trace
      .close()
      .catch(() => ({ checksum: trace.checksum, bytesize: trace.bytesize, truncated: false }));
    emit({ type: 'job-end', outcome });
    return { outcome, trace: summary };
  }

  function toOutcome(failure: Failure | undefined): JobOutcome {
    if (!failure) return { status: 'success' };
    switch (failure.kind) {
      case 'exit':
        return {
          status: 'failed',
          failureReason: 'script_failure',
          exitCode: failure.exitCode,
          message: `exit code ${failure.exitCode}`,
        };
      case 'job-timeout':
        return {
          status: 'failed',
          failureReason: 'job_execution_timeout',
          message: `execution took longer than ${formatGoDuration(timeoutSeconds * 1000)} seconds`,
        };
      case 'script-timeout':
        return {
          status: 'failed',
          failureReason: 'job_execution_timeout',
          message: 'script timeout: context deadline exceeded',
        };
      case 'canceled':
        return { status: 'failed', failureReason: 'job_canceled', message: 'canceled' };
      case 'interrupted':
        return { status: 'failed', failureReason: 'runner_interrupted', message: `aborted: ${failure.signal}` };
      case 'error':
        return { status: 'failed', failureReason: failure.reason, message: failure.message };
    }
  }
}

function describeFailure(failure: Failure): string {
  switch (failure.kind) {
    case 'exit':
      return `exit code ${failure.exitCode}`;
    case 'job-timeout':
    case 'script-timeout':
      return 'context deadline exceeded';
    case 'canceled':
      return 'canceled';
    case 'interrupted':
      return `aborted: ${failure.signal}`;
    case 'error':
      return failure.message;
  }
}

/** Errors of artifact stages that the executor did not classify fail the stage like a failing helper would. */
async function asStageFailure(stage: StageName, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (RuntimeError.isInstance(error)) throw error;
    throw new StageFailedError(stage, errorMessage(error), { cause: error });
  }
}

async function safeCleanup(executor: Executor, timeoutMs = 5 * 60_000): Promise<void> {
  // The time limit's timer is cleared as soon as cleanup settles: a pending 5-minute timer would keep every
  // process that ran a job alive long after its last job.
  const settled = new AbortController();
  try {
    await Promise.race([executor.cleanup(), delay(timeoutMs, settled.signal)]);
  } catch {
    // cleanup must not throw; an executor that does anyway must not change the outcome
  } finally {
    settled.abort();
  }
}

function sourcesScript(prepared: PreparedJob, runner: RunnerSettings): string {
  const { context, settings, style } = prepared;
  const { payload } = context;
  const hooks = payload.hooks ?? [];
  const hook = (name: string) => hooks.filter((entry) => entry.name === name).flatMap((entry) => entry.script ?? []);
  const urls = repositoryUrls(payload.git_info?.repo_url ?? '');
  return getSourcesScript(
    { variables: context.variables, directories: context.directories, style },
    {
      strategy: settings.gitStrategy,
      repoUrl: urls.plain,
      authenticatedUrl: urls.authenticated,
      sha: payload.git_info?.sha ?? '',
      ref: payload.git_info?.ref ?? '',
      refspecs: payload.git_info?.refspecs ?? [],
      depth: settings.gitDepth,
      checkout: settings.gitCheckout,
      cleanFlags: settings.gitCleanFlags,
      fetchFlags: settings.gitFetchExtraFlags,
      submoduleStrategy: settings.gitSubmoduleStrategy,
      objectFormat: payload.git_info?.repo_object_format ?? undefined,
      preCloneScripts: [
        ...(runner.preGetSourcesScript ? [runner.preGetSourcesScript] : []),
        ...hook('pre_get_sources_script'),
      ],
      postCloneScripts: [
        ...hook('post_get_sources_script'),
        ...(runner.postGetSourcesScript ? [runner.postGetSourcesScript] : []),
      ],
      userAgent: `${runner.product ?? 'runnerkit'} ${runner.version} ${runner.executableArch ?? 'linux/amd64'}`,
      skipLfsSmudge: settings.gitLfsSkipSmudge,
    },
  );
}
