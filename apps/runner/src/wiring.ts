// Wiring shared by `run` and `exec`: a [[runners]] entry → a job source for the supervisor (job-api-client
// requests and sessions, job-runtime's runJob, the entry's executor).
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { type CacheAdapter, cacheObjectName } from '@runnerkit/cache-adapters';
import type { RunnerConfig } from '@runnerkit/config-schema';
import { parseGoDuration } from '@runnerkit/config-schema';
import { createJobArtifactStore, type JobApiClient, type JobPayload, redact } from '@runnerkit/job-api-client';
import {
  createShellExecutor,
  type Executor,
  type JobOutcome,
  type JobRunContext,
  type JobSource,
  type RunnerSettings,
  runJob,
  shortToken,
  type SupervisedRunner,
} from '@runnerkit/job-runtime';
import { PRODUCT } from './api-client.js';
import { createCacheAdapter, createJobCacheStore } from './cache-store.js';
import type { ProcessOwner } from './process-owner.js';
import type { RunnerLog } from './runner-log.js';
import { strictCheckInterval } from './strict-check-interval.js';

export { PRODUCT } from './api-client.js';

/** Executors runnerkit runs; any other executor in config.toml is refused for that runner only. */
export const SUPPORTED_EXECUTORS = ['docker', 'ssh', 'shell'] as const;

export interface WiringContext {
  log: RunnerLog;
  systemId: string;
  /** The environment jobs of the shell executor start with, and where relative dirs resolve. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Where executors keep state between jobs (git mirrors of the Docker executor). */
  stateDir: string;
  /**
   * This process, as Docker objects are labelled with it; when set, a Docker runner entry first removes what a
   * killed process of the same runner left (`runnerkit run`).
   */
  owner?: ProcessOwner | undefined;
}

type ExecutorFactory = () => Executor;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The Docker executor of a runner entry: one Engine API client shared by its jobs. */
async function dockerFactory(runner: RunnerConfig, context: WiringContext): Promise<ExecutorFactory> {
  const { createDockerExecutor, removeAbandonedResources } = await import('@runnerkit/executor-docker');
  const { createDockerClient } = await import('@runnerkit/docker-engine-client');
  const docker = runner.docker ?? {};
  const host = docker.host || context.env.DOCKER_HOST || undefined;
  const certPath = docker.tls_cert_path || context.env.DOCKER_CERT_PATH;
  const tlsVerify =
    docker.tls_verify ?? (context.env.DOCKER_TLS_VERIFY ? context.env.DOCKER_TLS_VERIFY !== '0' : false);
  let tls: { ca?: string; cert?: string; key?: string } | undefined;
  if (certPath && (tlsVerify || host?.startsWith('https://'))) {
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'cert.pem', 'key.pem'].map((name) => readOptional(join(certPath, name))),
    );
    tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }
  const client = createDockerClient({ ...(host ? { host } : {}), ...(tls ? { tls } : {}) });
  const home = context.env.HOME;
  const configPath = context.env.DOCKER_CONFIG
    ? join(context.env.DOCKER_CONFIG, 'config.json')
    : home
      ? join(home, '.docker', 'config.json')
      : undefined;
  const configText = configPath ? await readOptional(configPath) : undefined;
  const workDir = join(context.stateDir, 'docker');
  const owner = context.owner;
  if (owner && runner.token) {
    const short = shortToken(runner.token);
    try {
      const removed = await removeAbandonedResources(client, {
        shortToken: short,
        systemId: context.systemId,
        isOwnerGone: (value) => owner.isGone(value),
        signal: AbortSignal.timeout(60_000),
      });
      const count = removed.containers.length + removed.networks.length + removed.volumes.length;
      if (count > 0)
        context.log.log('warn', 'removed the Docker objects a runner process that is gone left behind', {
          runner: short,
          containers: removed.containers.length,
          networks: removed.networks.length,
          volumes: removed.volumes.length,
        });
    } catch (error) {
      context.log.log('warn', 'cannot look for Docker objects a killed runner process left', {
        runner: short,
        error: (error as Error).message,
      });
    }
  }
  return () =>
    createDockerExecutor({
      docker,
      client,
      ...(tls ? { tls } : {}),
      buildsDir: runner.builds_dir,
      cacheDir: runner.cache_dir,
      customBuildDir: runner.custom_build_dir?.enabled,
      shell: runner.shell,
      runnerToken: runner.token ?? '',
      systemId: context.systemId,
      runnerEnvironment: runner.environment,
      ...(configPath && configText ? { dockerConfigFile: { path: configPath, content: configText } } : {}),
      workDir,
      cloneUrl: runner.clone_url,
      ...(owner ? { owner: owner.value } : {}),
    });
}

/**
 * The SSH executor of a runner entry. known_hosts: `known_hosts_file` (read by the executor), else GitLab Runner's
 * default, the runner user's ~/.ssh/known_hosts. Relative builds_dir/cache_dir (and the defaults `builds`,
 * `cache`) are made absolute against the remote home directory, probed once here; if the host cannot be reached
 * now they stay relative to the login directory, as in GitLab Runner, and the job reports the connection error.
 */
async function sshFactory(runner: RunnerConfig, context: WiringContext): Promise<ExecutorFactory> {
  const { createSshExecutor, probeSshHomeDirectory } = await import('@runnerkit/executor-ssh');
  const ssh = runner.ssh ?? {};
  const home = context.env.HOME;
  const knownHosts = ssh.known_hosts_file || !home ? undefined : await readOptional(join(home, '.ssh', 'known_hosts'));
  const connection = { ssh, ...(knownHosts !== undefined ? { knownHosts } : {}) };
  const relative = [runner.builds_dir || 'builds', runner.cache_dir || 'cache'].some((dir) => !dir.startsWith('/'));
  let homeDirectory: string | undefined;
  if (relative) {
    try {
      homeDirectory = await probeSshHomeDirectory(
        { ...connection, connectAttempts: 1, connectTimeoutMs: 10_000 },
        AbortSignal.timeout(15_000),
      );
    } catch (error) {
      context.log.log('warn', 'cannot find the remote home directory; relative builds_dir/cache_dir stay relative', {
        runner: shortToken(runner.token ?? ''),
        error: (error as Error).message,
      });
    }
  }
  return () =>
    createSshExecutor({
      ...connection,
      ...(homeDirectory ? { homeDirectory } : {}),
      buildsDir: runner.builds_dir,
      cacheDir: runner.cache_dir,
      customBuildDir: runner.custom_build_dir?.enabled,
      shell: runner.shell,
      workDir: join(context.stateDir, 'ssh'),
    });
}

function durationSeconds(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ns = parseGoDuration(value);
  return ns === undefined || ns <= 0n ? undefined : Number(ns / 1_000_000_000n);
}

/** The executor of a runner entry, or why it cannot run here. */
export async function executorFactory(
  runner: RunnerConfig,
  context: WiringContext,
): Promise<{ ok: true; create: ExecutorFactory } | { ok: false; message: string }> {
  const executor = runner.executor ?? '';
  const name = runner.name ?? '';
  if (!(SUPPORTED_EXECUTORS as readonly string[]).includes(executor)) {
    return {
      ok: false,
      message: `runner "${name}": executor "${executor}" is not supported by runnerkit (supported: ${SUPPORTED_EXECUTORS.join(', ')}); this runner is skipped`,
    };
  }
  if (executor === 'shell') {
    const base = resolve(context.cwd);
    const env = Object.fromEntries(
      Object.entries(context.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return {
      ok: true,
      create: () =>
        createShellExecutor({
          shell: runner.shell ?? 'bash',
          buildsDir: resolve(base, runner.builds_dir ?? 'builds'),
          cacheDir: resolve(base, runner.cache_dir ?? 'cache'),
          customBuildDir: runner.custom_build_dir?.enabled ?? false,
          env,
        }),
    };
  }
  if (executor === 'docker') {
    try {
      return { ok: true, create: await dockerFactory(runner, context) };
    } catch (error) {
      return { ok: false, message: `runner "${name}": cannot set up the docker executor: ${(error as Error).message}` };
    }
  }
  try {
    return { ok: true, create: await sshFactory(runner, context) };
  } catch (error) {
    return { ok: false, message: `runner "${name}": cannot set up the ssh executor: ${(error as Error).message}` };
  }
}

/** What job-runtime needs to know about the runner entry. */
export function runnerSettings(runner: RunnerConfig, context: WiringContext, url: string | undefined): RunnerSettings {
  return {
    product: PRODUCT.name,
    version: PRODUCT.version,
    revision: PRODUCT.revision,
    name: runner.name ?? '',
    token: runner.token ?? '',
    systemId: context.systemId,
    hostname: hostname(),
    environment: runner.environment ?? [],
    // only what config.toml sets: variables and defaults are the runtime's business
    featureFlags: runner.feature_flags ?? {},
    outputLimitKiB: runner.output_limit && runner.output_limit > 0 ? runner.output_limit : undefined,
    preGetSourcesScript: runner.pre_get_sources_script,
    postGetSourcesScript: runner.post_get_sources_script,
    preBuildScript: runner.pre_build_script,
    postBuildScript: runner.post_build_script,
    debugTraceDisabled: runner.debug_trace_disabled,
    url,
    prepareTimeoutSeconds: durationSeconds(runner.prepare_timeout),
    getSourcesTimeoutSeconds: durationSeconds(runner.get_sources_timeout),
  };
}

export interface JobHooks {
  /** Every trace byte, as sent to GitLab (exec prints it). */
  onTrace?: ((job: JobPayload, chunk: Uint8Array) => void) | undefined;
  onJobStart?: ((job: JobPayload) => void) | undefined;
  onJobEnd?: ((job: JobPayload, outcome: JobOutcome, durationMs: number) => void) | undefined;
}

export interface RunnerWiring {
  runner: RunnerConfig;
  client: JobApiClient;
  createExecutor: ExecutorFactory;
  context: WiringContext;
  hooks?: JobHooks | undefined;
  /** The distributed cache of `[runners.cache]`, when configured. */
  cache?: CacheAdapter | undefined;
  /** Where artifact uploads are spooled; default the OS temp dir. */
  temporaryDirectory?: string | undefined;
  /** The global check_interval in ms as it is now (for strict_check_interval); default 3 s. */
  checkIntervalMs?: (() => number) | undefined;
}

/** The display name used in log lines: `name (short token)`; never the token itself. */
export function runnerLabel(runner: RunnerConfig): string {
  return `${runner.name ?? ''}`.trim() || shortToken(runner.token ?? '');
}

/** The supervisor's view of a runner entry. */
export function supervisedRunner(wiring: RunnerWiring, index: number): SupervisedRunner {
  const { runner } = wiring;
  const unhealthyInterval = runner.unhealthy_interval ? parseGoDuration(runner.unhealthy_interval) : undefined;
  return {
    id: `${index}:${runnerLabel(runner)}:${shortToken(runner.token ?? '')}:${runner.url ?? ''}`,
    limit: runner.limit ?? 0,
    requestConcurrency: runner.request_concurrency ?? 1,
    unhealthyRequestsLimit:
      runner.unhealthy_requests_limit && runner.unhealthy_requests_limit > 0 ? runner.unhealthy_requests_limit : 3,
    unhealthyIntervalMs:
      unhealthyInterval !== undefined && unhealthyInterval > 0n ? Number(unhealthyInterval / 1_000_000n) : 60 * 60_000,
    source: runner.strict_check_interval
      ? strictCheckInterval(createJobSource(wiring), wiring.checkIntervalMs ?? (() => 3000))
      : createJobSource(wiring),
  };
}

export function createJobSource(wiring: RunnerWiring): JobSource {
  const { runner, client, context } = wiring;
  const token = runner.token ?? '';
  const label = runnerLabel(runner);
  const short = shortToken(token);
  return {
    async request(signal) {
      const result = await client.requestJob({ token, systemId: context.systemId, signal });
      switch (result.kind) {
        case 'no-job':
          context.log.log('debug', 'Checking for jobs... nothing', { runner: short, name: label });
          return { kind: 'no-job', healthy: true };
        case 'failed':
          context.log.log(result.reason === 'forbidden' ? 'error' : 'warn', `Checking for jobs... ${result.reason}`, {
            runner: short,
            name: label,
            status: result.status,
            error: redact(result.error.message, [token]),
          });
          return { kind: 'no-job', healthy: result.healthy };
        case 'invalid-job':
          context.log.log('error', 'Checking for jobs... received an invalid job', {
            runner: short,
            job: result.error.jobId,
            error: result.error.message,
          });
          await client.reportInvalidJob(result.error, { runnerToken: token }).catch(() => false);
          return { kind: 'no-job', healthy: true };
        case 'job': {
          const job = result.job;
          context.log.log('info', 'Checking for jobs... received', {
            job: job.id,
            repo_url: stripCredentials(job.git_info.repo_url ?? ''),
            runner: short,
            name: label,
          });
          return {
            kind: 'job',
            job: { projectId: job.job_info.project_id, run: (runContext) => runReceivedJob(wiring, job, runContext) },
          };
        }
      }
    },
  };
}

function stripCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return redact(url);
  }
}

/** One received job from acknowledgement to final update. Never throws for the job's own failure. */
export async function runReceivedJob(wiring: RunnerWiring, job: JobPayload, runContext: JobRunContext): Promise<void> {
  const { runner, client, context, hooks } = wiring;
  const token = runner.token ?? '';
  const session = client.startJob(job, { runnerToken: token });
  const started = Date.now();
  try {
    const ack = await session.acknowledge(runContext.interruptSignal);
    if (ack === 'drop') {
      context.log.log('warn', 'Job was dropped by GitLab before it started', {
        job: job.id,
        runner: shortToken(token),
      });
      return;
    }
    session.start();
    hooks?.onJobStart?.(job);
    const artifacts = createJobArtifactStore(client, {
      jobId: job.id,
      jobToken: job.token,
      ...(wiring.temporaryDirectory ? { temporaryDirectory: wiring.temporaryDirectory } : {}),
    });
    const result = await runJob({
      payload: job,
      executor: wiring.createExecutor,
      trace: {
        write(chunk) {
          session.write(chunk);
          hooks?.onTrace?.(job, chunk);
        },
      },
      runner: runnerSettings(runner, context, runner.url),
      concurrentId: runContext.concurrentId,
      concurrentProjectId: runContext.concurrentProjectId,
      ports: {
        artifacts,
        ...(wiring.cache
          ? {
              cache: createJobCacheStore(wiring.cache, {
                projectId: job.job_info.project_id,
                runnerShortToken: shortToken(token),
                path: runner.cache?.Path,
                shared: runner.cache?.Shared,
                hashedKeys: runner.feature_flags?.FF_HASH_CACHE_KEYS === true,
                expiresInSeconds: job.runner_info.timeout > 0 ? job.runner_info.timeout : 3600,
                objectName: cacheObjectName,
              }),
            }
          : {}),
      },
      cancelSignal: session.cancelSignal,
      abortSignal: AbortSignal.any([session.abortSignal, runContext.interruptSignal]),
    });
    const outcome = result.outcome;
    const finish = await session.finish(
      outcome.status === 'success'
        ? { state: 'success' }
        : {
            state: 'failed',
            ...(outcome.failureReason ? { failureReason: outcome.failureReason } : {}),
            ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
          },
    );
    const durationMs = Date.now() - started;
    context.log.log(
      outcome.status === 'success' ? 'info' : 'warn',
      outcome.status === 'success' ? 'Job succeeded' : 'Job failed',
      {
        job: job.id,
        duration_s: Math.round(durationMs / 100) / 10,
        runner: shortToken(token),
        ...(outcome.status === 'failed' ? { reason: outcome.failureReason, error: outcome.message } : {}),
        ...(finish.outcome !== 'delivered' ? { final_update: finish.outcome } : {}),
      },
    );
    hooks?.onJobEnd?.(job, outcome, durationMs);
  } catch (error) {
    context.log.log('error', 'Job could not be run', { job: job.id, error: (error as Error).message });
    await session.finish({ state: 'failed', failureReason: 'runner_system_failure' }).catch(() => undefined);
    hooks?.onJobEnd?.(
      job,
      { status: 'failed', failureReason: 'runner_system_failure', message: (error as Error).message },
      Date.now() - started,
    );
  } finally {
    session.dispose();
  }
}

/** `[runners.cache]` of an entry; a broken cache section is reported and the runner works without it, as GitLab. */
export async function cacheFor(runner: RunnerConfig, context: WiringContext): Promise<CacheAdapter | undefined> {
  try {
    return await createCacheAdapter(runner.cache, context.env);
  } catch (error) {
    context.log.log('warn', 'the distributed cache is not usable; caches stay local', {
      runner: shortToken(runner.token ?? ''),
      error: (error as Error).message,
    });
    return undefined;
  }
}
