// Prometheus metrics for `runnerkit run`, under GitLab Runner's metric names and labels so existing dashboards and
// alerts keep working. The run loop calls:
//
//   const metrics = createRunnerMetrics({ version: '0.1.0', revision: 'abc12345' });
//   metrics.setConcurrent(config.concurrent);                       // gitlab_runner_concurrent
//   metrics.setLimit(runner, config.limit);                          // gitlab_runner_limit{runner,runner_name,system_id}
//   metrics.jobStarted(runner);                                      // gitlab_runner_jobs{…,state="running"} + 1,
//                                                                    // gitlab_runner_jobs_total + 1
//   metrics.jobStage(runner, 'build_script');                        // moves the running job's executor_stage label
//   metrics.jobFinished(runner, 'failed', 'script_failure', 12.5);   // gitlab_runner_jobs - 1,
//                                                                    // gitlab_runner_failed_jobs_total{failure_reason},
//                                                                    // gitlab_runner_job_duration_seconds
//   metrics.apiRequest(runner, 'request_job', 201, 'POST', 0.03);   // gitlab_runner_api_request_statuses_total,
//                                                                    // gitlab_runner_api_request_duration_seconds
//   metrics.error('error');                                          // gitlab_runner_errors_total{level}
//   const server = await metrics.serve('127.0.0.1:9252');            // GET /metrics, GET /health (also /-/health)
//   await server.close();
//
// `runner` is `{ token, name?, systemId? }`: the `runner` label is the short token (config-schema's display form,
// never the whole token), as GitLab Runner's ShortDescription. gitlab_runner_version_info and
// gitlab_runner_errors_total{level=panic|fatal|error|warning} exist from the start, as in GitLab Runner. To count
// logged warnings and errors, create the logger with `createLogger({ …, onProblem: (level) => metrics.error(level) })`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { shortTokenForDisplay } from '@runnerkit/config-schema';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsRunner {
  token: string;
  name?: string | undefined;
  systemId?: string | undefined;
}

export interface RunnerMetricsOptions {
  version: string;
  revision?: string;
  branch?: string;
  builtAt?: string;
  /** Default `process.platform` / `process.arch` in Go naming is the caller's business; these are label values. */
  os?: string;
  architecture?: string;
}

export interface MetricsServer {
  /** `http://host:port` actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

export interface RunnerMetrics {
  readonly registry: Registry;
  setConcurrent(value: number): void;
  setLimit(runner: MetricsRunner, limit: number): void;
  jobStarted(runner: MetricsRunner): void;
  /** The running job's current executor stage (GitLab's stage names: prepare_executor, build_script, …). */
  jobStage(runner: MetricsRunner, executorStage: string, previousStage?: string): void;
  /** `durationSeconds` feeds the histogram when given. */
  jobFinished(runner: MetricsRunner, state: string, failureReason?: string, durationSeconds?: number): void;
  apiRequest(runner: MetricsRunner, endpoint: string, status: number | string, method?: string, seconds?: number): void;
  /** Counts a logged problem; `warn` is recorded as GitLab's `warning`. */
  error(level: 'panic' | 'fatal' | 'error' | 'warn' | 'warning'): void;
  /** Prometheus text exposition. */
  exposition(): Promise<string>;
  /** Serves GET /metrics and GET /health on `host:port` (listen_address; `:9252` means 127.0.0.1:9252). */
  serve(listenAddress: string): Promise<MetricsServer>;
}

function labels(runner: MetricsRunner) {
  return {
    runner: shortTokenForDisplay(runner.token),
    runner_name: runner.name ?? '',
    system_id: runner.systemId ?? '',
  };
}

const RUNNING = 'running';

/** Parses listen_address (`host:port`, `:port`, `[::1]:port`); an empty host binds 127.0.0.1. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.trim());
  if (!match) throw new Error(`listen_address "${address}" is not host:port`);
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`listen_address "${address}": port out of range`);
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export function createRunnerMetrics(options: RunnerMetricsOptions): RunnerMetrics {
  const registry = new Registry();
  const versionInfo = new Gauge({
    name: 'gitlab_runner_version_info',
    help: "A metric with a constant '1' value labeled by different build stats fields.",
    labelNames: ['name', 'version', 'revision', 'branch', 'built_at', 'os', 'architecture'] as const,
    registers: [registry],
  });
  versionInfo
    .labels({
      name: 'runnerkit',
      version: options.version,
      revision: options.revision ?? '',
      branch: options.branch ?? '',
      built_at: options.builtAt ?? '',
      os: options.os ?? process.platform,
      architecture: options.architecture ?? process.arch,
    })
    .set(1);
  const concurrent = new Gauge({
    name: 'gitlab_runner_concurrent',
    help: 'The current value of concurrent setting',
    registers: [registry],
  });
  const limit = new Gauge({
    name: 'gitlab_runner_limit',
    help: 'The current value of limit setting',
    labelNames: ['runner', 'runner_name', 'system_id'] as const,
    registers: [registry],
  });
  const jobs = new Gauge({
    name: 'gitlab_runner_jobs',
    help: 'The current number of running builds.',
    labelNames: ['runner', 'runner_name', 'system_id', 'state', 'stage', 'executor_stage'] as const,
    registers: [registry],
  });
  const jobsTotal = new Counter({
    name: 'gitlab_runner_jobs_total',
    help: 'Total number of handled jobs',
    labelNames: ['runner', 'runner_name', 'system_id'] as const,
    registers: [registry],
  });
  const failedJobs = new Counter({
    name: 'gitlab_runner_failed_jobs_total',
    help: 'Total number of failed jobs',
    labelNames: ['runner', 'runner_name', 'failure_reason'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'gitlab_runner_job_duration_seconds',
    help: 'Histogram of job durations',
    labelNames: ['runner', 'runner_name', 'system_id'] as const,
    buckets: [30, 60, 300, 600, 1800, 3600, 7200, 10800, 18000, 36000],
    registers: [registry],
  });
  const apiStatuses = new Counter({
    name: 'gitlab_runner_api_request_statuses_total',
    help: 'The total number of API requests made by GitLab Runner, partitioned by runner, system_id, endpoint, status and method.',
    labelNames: ['runner', 'system_id', 'endpoint', 'status', 'method'] as const,
    registers: [registry],
  });
  const apiDurations = new Histogram({
    name: 'gitlab_runner_api_request_duration_seconds',
    help: 'Latency histogram of API requests made by GitLab Runner, partitioned by runner, system_id, endpoint, status_class and method.',
    labelNames: ['runner', 'system_id', 'endpoint', 'status_class', 'method'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'gitlab_runner_errors_total',
    help: 'The number of caught errors.',
    labelNames: ['level'] as const,
    registers: [registry],
  });
  for (const level of ['panic', 'fatal', 'error', 'warning']) errors.labels({ level }).inc(0);

  const stageOf = new Map<string, string[]>();
  const key = (runner: MetricsRunner) => `${runner.token}\0${runner.systemId ?? ''}`;
  const jobLabels = (runner: MetricsRunner, executorStage: string) => ({
    ...labels(runner),
    state: RUNNING,
    stage: '',
    executor_stage: executorStage,
  });

  const metrics: RunnerMetrics = {
    registry,
    setConcurrent: (value) => concurrent.set(value),
    setLimit: (runner, value) => limit.labels(labels(runner)).set(value),
    jobStarted(runner) {
      jobs.labels(jobLabels(runner, 'prepare_executor')).inc();
      jobsTotal.labels(labels(runner)).inc();
      const list = stageOf.get(key(runner)) ?? [];
      list.push('prepare_executor');
      stageOf.set(key(runner), list);
    },
    jobStage(runner, executorStage, previousStage) {
      const list = stageOf.get(key(runner)) ?? [];
      const index = previousStage === undefined ? 0 : list.indexOf(previousStage);
      const from = list[index];
      if (from === undefined) return;
      jobs.labels(jobLabels(runner, from)).dec();
      jobs.labels(jobLabels(runner, executorStage)).inc();
      list[index] = executorStage;
    },
    jobFinished(runner, state, failureReason, durationSeconds) {
      const list = stageOf.get(key(runner)) ?? [];
      const from = list.shift();
      if (from !== undefined) jobs.labels(jobLabels(runner, from)).dec();
      if (list.length === 0) stageOf.delete(key(runner));
      if (state === 'failed') {
        const { runner: short, runner_name } = labels(runner);
        failedJobs.labels({ runner: short, runner_name, failure_reason: failureReason ?? 'unknown_failure' }).inc();
      }
      if (durationSeconds !== undefined) jobDuration.labels(labels(runner)).observe(durationSeconds);
    },
    apiRequest(runner, endpoint, status, method = '', seconds) {
      const { runner: short, system_id } = labels(runner);
      apiStatuses.labels({ runner: short, system_id, endpoint, status: String(status), method }).inc();
      if (seconds !== undefined) {
        const code = Number(status);
        const statusClass = Number.isFinite(code) && code >= 100 ? `${Math.floor(code / 100)}xx` : String(status);
        apiDurations.labels({ runner: short, system_id, endpoint, status_class: statusClass, method }).observe(seconds);
      }
    },
    error(level) {
      errors.labels({ level: level === 'warn' ? 'warning' : level }).inc();
    },
    exposition: () => registry.metrics(),
    serve: (listenAddress) => serveMetrics(registry, listenAddress),
  };
  return metrics;
}

async function serveMetrics(registry: Registry, listenAddress: string): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(listenAddress);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
      return;
    }
    if (path === '/health' || path === '/-/health') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
