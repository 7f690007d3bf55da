// `runnerkit run [-c FILE]`: GitLab Runner's multi-runner loop over every [[runners]] entry of config.toml.
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type Config,
  ConfigSchemaError,
  type ConfigValidationError,
  parseConfig,
  sortIssues,
} from '@runnerkit/config-schema';
import type { JobApiClient } from '@runnerkit/job-api-client';
import { createSupervisor, type SupervisedRunner, type Supervisor, shortToken } from '@runnerkit/job-runtime';
import type { Command } from 'commander';
import { logCliOptions, type LogCliOptions } from '../output/logger.js';
import { createRunnerMetrics, type MetricsServer } from '../output/metrics.js';
import { createRunnerLog, type RunnerLog } from '../runner-log.js';
import { apiEndpointName, createRunnerClient, PRODUCT } from '../api-client.js';
import { withLongPolling } from '../long-polling.js';
import { createProcessOwner } from '../process-owner.js';
import { loadOrCreateSystemId } from '../system-id.js';
import { removeLeftoverTraceSpools } from '../trace-spool-sweep.js';
import { cacheFor, executorFactory, runnerLabel, supervisedRunner, type WiringContext } from '../wiring.js';
import { type ConfigCommandIo, defaultConfigPath, formatIssueLine, processIo } from './config.js';

/** How often the config file is checked for changes (GitLab Runner: 3 s). */
export const CONFIG_CHECK_INTERVAL_MS = 3000;

interface Loaded {
  config: Config;
  runners: SupervisedRunner[];
  concurrent: number;
  checkIntervalMs: number;
  shutdownTimeoutMs: number;
}

export interface RunOptions {
  config?: string;
  workingDirectory?: string;
  /** The global --debug / --log-level / --log-format. */
  log?: LogCliOptions;
  /** Overrides config.toml's listen_address (metrics and health). */
  listenAddress?: string;
}

/** Starts the loop and resolves with the exit code once it stopped. */
export async function runRunner(io: ConfigCommandIo, options: RunOptions): Promise<number> {
  const file = defaultConfigPath(io, options.config);
  const metrics = createRunnerMetrics({ version: PRODUCT.version, revision: PRODUCT.revision });
  const onProblem = (level: 'warning' | 'error' | 'fatal') => metrics.error(level);
  const logOptions = { stream: io.stderr, cli: options.log ?? {}, env: io.env, onProblem };
  let log: RunnerLog = createRunnerLog(logOptions);
  let metricsServer: MetricsServer | undefined;
  const cwd = options.workingDirectory ?? io.cwd;
  const systemId = await loadOrCreateSystemId(file);
  const stateBase = io.env.XDG_CACHE_HOME || join(io.homedir, '.cache');
  const context: WiringContext = {
    log: { log: (...args) => log.log(...args) },
    systemId,
    env: io.env,
    cwd,
    stateDir: join(stateBase, 'runnerkit', 'run'),
    owner: createProcessOwner(hostname(), process.pid),
  };
  try {
    const removed = await removeLeftoverTraceSpools(join(context.stateDir, 'traces'));
    if (removed > 0) log.log('warn', 'removed job trace files a killed runner process left', { files: removed });
  } catch (error) {
    log.log('warn', 'cannot remove left-over job trace files', { error: (error as Error).message });
  }
  const clients: JobApiClient[] = [];
  /** check_interval in ms as last loaded (strict_check_interval reads it). */
  let checkIntervalMs = 3000;
  /** Runner entries unchanged by a reload keep their job source (and so their health and requests). */
  let known = new Map<string, SupervisedRunner>();

  const load = async (): Promise<Loaded | undefined> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      log.log('error', 'cannot read the config file', { file, error: (error as NodeJS.ErrnoException).code });
      return undefined;
    }
    let config: Config;
    try {
      ({ config } = parseConfig(text, { source: file }));
    } catch (error) {
      if (ConfigSchemaError.isInstance(error) && 'issues' in error) {
        for (const issue of sortIssues([...(error as ConfigValidationError).issues]))
          if (issue.severity === 'error') io.stderr.write(`${formatIssueLine(file, issue)}\n`);
      }
      log.log('error', 'the config file is not valid; keeping the previous configuration', { file });
      return undefined;
    }
    try {
      log = createRunnerLog({ ...logOptions, config: { log_level: config.log_level, log_format: config.log_format } });
    } catch (error) {
      log.log('error', `${(error as Error).message}; keeping the previous log settings`);
    }
    const next = new Map<string, SupervisedRunner>();
    const runners: SupervisedRunner[] = [];
    for (const [index, runner] of (config.runners ?? []).entries()) {
      const key = JSON.stringify(runner);
      const existing = known.get(key);
      if (existing) {
        next.set(key, existing);
        runners.push(existing);
        continue;
      }
      if (!runner.url || !runner.token) {
        log.log('error', `runner "${runnerLabel(runner)}" has no url or token; this runner is skipped`);
        continue;
      }
      const executor = await executorFactory(runner, context);
      if (!executor.ok) {
        log.log('error', executor.message, { runner: shortToken(runner.token) });
        continue;
      }
      const metricsRunner = { token: runner.token, name: runner.name, systemId };
      const short = shortToken(runner.token);
      const client = createRunnerClient(runner, {
        traceSpoolDirectory: join(context.stateDir, 'traces'),
        onEvent: (event) => {
          if (event.type === 'request-end') {
            const endpoint = apiEndpointName(event.method, event.path);
            if (endpoint)
              metrics.apiRequest(metricsRunner, endpoint, event.status, event.method, event.durationMs / 1000);
            log.log('debug', `${event.method} ${event.path}`, {
              runner: short,
              status: event.status,
              correlation_id: event.correlationId,
              duration_ms: Math.round(event.durationMs),
            });
          } else if (event.type === 'request-error') {
            // GitLab Runner counts an unanswered request under status -100 (its clientError)
            const endpoint = apiEndpointName(event.method, event.path);
            if (endpoint) metrics.apiRequest(metricsRunner, endpoint, -100, event.method);
          } else if (event.type === 'warning') log.log('warn', event.message, { runner: short });
        },
      });
      clients.push(client);
      metrics.setLimit(metricsRunner, runner.limit ?? 0);
      const supervised = withLongPolling(
        supervisedRunner(
          {
            runner,
            client,
            createExecutor: executor.create,
            context,
            cache: await cacheFor(runner, context),
            checkIntervalMs: () => checkIntervalMs,
            hooks: {
              onJobStart: () => metrics.jobStarted(metricsRunner),
              onJobEnd: (_job, outcome, durationMs) =>
                metrics.jobFinished(
                  metricsRunner,
                  outcome.status,
                  outcome.status === 'failed' ? outcome.failureReason : undefined,
                  durationMs / 1000,
                ),
            },
          },
          index,
        ),
        client,
        runner.token,
      );
      next.set(key, supervised);
      runners.push(supervised);
    }
    known = next;
    checkIntervalMs = (config.check_interval && config.check_interval > 0 ? config.check_interval : 3) * 1000;
    return {
      config,
      runners,
      concurrent: config.concurrent && config.concurrent > 0 ? config.concurrent : 1,
      checkIntervalMs,
      shutdownTimeoutMs: (config.shutdown_timeout && config.shutdown_timeout > 0 ? config.shutdown_timeout : 30) * 1000,
    };
  };

  const first = await load();
  if (!first) return 1;
  metrics.setConcurrent(first.concurrent);
  const serveMetrics = async (address: string | undefined) => {
    if (!address || metricsServer) return;
    try {
      metricsServer = await metrics.serve(address);
      log.log('info', 'Metrics server listening', { address: metricsServer.url });
    } catch (error) {
      log.log('error', 'cannot start the metrics server', { address, error: (error as Error).message });
    }
  };
  await serveMetrics(options.listenAddress ?? first.config.listen_address);
  let shutdownTimeoutMs = first.shutdownTimeoutMs;
  log.log('info', `Starting multi-runner from ${file}...`, { builds: 0, max_builds: first.concurrent });
  log.log('info', 'Configuration loaded', { runners: first.runners.length, max_builds: first.concurrent });
  const supervisor: Supervisor = createSupervisor({
    runners: first.runners,
    concurrent: first.concurrent,
    checkIntervalMs: first.checkIntervalMs,
    onEvent: (event) => {
      if (event.type === 'runner-unhealthy')
        log.log('warn', 'Runner is not healthy and will be disabled', {
          runner: event.runner.split(':')[2],
          unhealthy_requests: event.failures,
        });
      else if (event.type === 'job-end' && event.error !== undefined)
        log.log('error', 'Job ended with an error', { error: (event.error as Error).message });
      else if (event.type === 'request-failed')
        log.log('warn', 'Checking for jobs... failed', { error: (event.error as Error).message });
    },
  });

  let lastStamp = '';
  const stampOf = async () => {
    try {
      const info = await stat(file);
      return `${info.mtimeMs}:${info.size}:${info.ino}`;
    } catch {
      return 'missing';
    }
  };
  lastStamp = await stampOf();
  let reloading = false;
  const reload = async (why: string) => {
    if (reloading) return;
    reloading = true;
    try {
      lastStamp = await stampOf();
      const loaded = await load();
      if (!loaded) return;
      shutdownTimeoutMs = loaded.shutdownTimeoutMs;
      metrics.setConcurrent(loaded.concurrent);
      await serveMetrics(options.listenAddress ?? loaded.config.listen_address);
      supervisor.update({
        runners: loaded.runners,
        concurrent: loaded.concurrent,
        checkIntervalMs: loaded.checkIntervalMs,
      });
      log.log('info', 'Configuration loaded', {
        reason: why,
        runners: loaded.runners.length,
        builds: supervisor.stats().running,
        max_builds: loaded.concurrent,
      });
    } finally {
      reloading = false;
    }
  };
  const watcher = setInterval(() => {
    void stampOf().then((stamp) => {
      if (stamp !== lastStamp && stamp !== 'missing') void reload('config file changed');
    });
  }, CONFIG_CHECK_INTERVAL_MS);

  const onHup = () => void reload('SIGHUP');
  const onQuit = () => {
    log.log('warn', 'Starting graceful shutdown (SIGQUIT): no new jobs; waiting for running jobs to finish', {
      builds: supervisor.stats().running,
    });
    void supervisor.stop({ mode: 'graceful' });
  };
  const onForce = (signal: NodeJS.Signals) => {
    log.log('warn', `Starting forceful shutdown (${signal}): aborting running jobs`, {
      builds: supervisor.stats().running,
      shutdown_timeout_s: shutdownTimeoutMs / 1000,
    });
    void supervisor.stop({ mode: 'forced', signal, timeoutMs: shutdownTimeoutMs });
  };
  process.on('SIGHUP', onHup);
  process.on('SIGQUIT', onQuit);
  process.on('SIGTERM', onForce);
  process.on('SIGINT', onForce);

  const result = await supervisor.done;
  clearInterval(watcher);
  process.off('SIGHUP', onHup);
  process.off('SIGQUIT', onQuit);
  process.off('SIGTERM', onForce);
  process.off('SIGINT', onForce);
  await Promise.allSettled(clients.map((client) => client.close()));
  await metricsServer?.close();
  if (result.timedOut) log.log('error', 'Timed out waiting for running jobs to finish; exiting anyway');
  log.log('info', 'All workers stopped.', { product: PRODUCT.name });
  return result.timedOut ? 1 : 0;
}

export function registerRunCommand(program: Command, io: ConfigCommandIo = processIo()): void {
  program
    .command('run')
    .description('Run every [[runners]] entry of config.toml: poll GitLab for jobs and run them')
    .option(
      '-c, --config <file>',
      'config file (default: /etc/gitlab-runner/config.toml as root, else ~/.gitlab-runner/config.toml; env CONFIG_FILE)',
    )
    .option(
      '-d, --working-directory <dir>',
      'where the shell executor puts builds and caches (default: the current directory)',
    )
    .option('--listen-address <address>', 'metrics and health server (host:port), overrides listen_address')
    .action(async (options: RunOptions, command: Command) => {
      let code: number;
      try {
        code = await runRunner(io, { ...options, log: logCliOptions(command) });
      } catch (error) {
        io.stderr.write(`${(error as Error).message}\n`);
        code = 1;
      }
      io.setExitCode(code);
      // Idle keep-alive sockets or a job's leftover child must not keep a stopped runner alive.
      process.exit(code);
    });
}
