import { CONFIG_DEFAULTS } from './defaults.js';
import { featureFlagsOn, resolveFeatureFlags } from './feature-flags.js';
import type { PullPolicy } from './schema/docker.js';
import type { Config } from './schema/global.js';
import type { RunnerConfig } from './schema/runners.js';

/** The values runnerkit's own code consumes, with GitLab Runner's default rules applied (config-toml.md §3.1). */
export interface EffectiveConfig {
  concurrent: number;
  check_interval: number;
  log_level: string;
  log_format: string;
  shutdown_timeout: number;
  connection_max_age: string;
  session_server: { listen_address: string; advertise_address: string; session_timeout: number };
  runners: EffectiveRunner[];
}

export interface EffectiveRunner {
  name: string;
  executor: string;
  limit: number;
  output_limit: number;
  request_concurrency: number;
  unhealthy_requests_limit: number;
  unhealthy_interval: string;
  job_status_final_update_retry_limit: number;
  strict_check_interval: boolean;
  custom_build_dir_enabled: boolean;
  feature_flags_on: string[];
  docker?: {
    pull_policy: PullPolicy[];
    allowed_pull_policies: PullPolicy[];
    wait_for_services_timeout: number;
    services_limit: number;
    privileged: boolean;
    services_privileged: boolean;
  };
  ssh?: { port: string; user: string; disable_strict_host_key_checking: boolean };
  custom?: {
    config_exec_timeout: number;
    prepare_exec_timeout: number;
    cleanup_exec_timeout: number;
    graceful_kill_timeout: number;
    force_kill_timeout: number;
  };
  cache?: { Type: string; Shared: boolean; s3?: { AuthenticationType: string; DualStack: boolean } };
}

const positive = (value: number | undefined, fallback: number) => (value !== undefined && value > 0 ? value : fallback);

function logLevel(value: string | undefined): string {
  if (value === undefined) return CONFIG_DEFAULTS.logLevel;
  const lower = value.toLowerCase();
  return lower === 'warn' ? 'warning' : lower;
}

export function effectiveRunner(runner: RunnerConfig): EffectiveRunner {
  const d = CONFIG_DEFAULTS.runner;
  const executor = runner.executor ?? d.executor;
  const out: EffectiveRunner = {
    name: runner.name ?? d.name,
    executor,
    limit: runner.limit ?? d.limit,
    output_limit: runner.output_limit !== undefined && runner.output_limit !== 0 ? runner.output_limit : d.outputLimit,
    request_concurrency: Math.max(d.requestConcurrency, runner.request_concurrency ?? d.requestConcurrency),
    unhealthy_requests_limit:
      runner.unhealthy_requests_limit !== undefined && runner.unhealthy_requests_limit >= 1
        ? runner.unhealthy_requests_limit
        : d.unhealthyRequestsLimit,
    unhealthy_interval: runner.unhealthy_interval ?? d.unhealthyInterval,
    job_status_final_update_retry_limit:
      runner.job_status_final_update_retry_limit !== undefined && runner.job_status_final_update_retry_limit >= 1
        ? runner.job_status_final_update_retry_limit
        : d.jobStatusFinalUpdateRetryLimit,
    strict_check_interval: runner.strict_check_interval ?? d.strictCheckInterval,
    custom_build_dir_enabled:
      runner.custom_build_dir?.enabled ?? (d.customBuildDirEnabledFor as readonly string[]).includes(executor),
    feature_flags_on: featureFlagsOn(resolveFeatureFlags({ featureFlags: runner.feature_flags ?? {} })),
  };
  if (runner.docker) {
    const docker = runner.docker;
    const defaults = CONFIG_DEFAULTS.docker;
    const pullPolicy: PullPolicy[] =
      docker.pull_policy && docker.pull_policy.length > 0 ? docker.pull_policy : [...defaults.pullPolicy];
    const privileged = docker.privileged ?? defaults.privileged;
    out.docker = {
      pull_policy: pullPolicy,
      allowed_pull_policies:
        docker.allowed_pull_policies && docker.allowed_pull_policies.length > 0
          ? docker.allowed_pull_policies
          : pullPolicy,
      wait_for_services_timeout:
        docker.wait_for_services_timeout !== undefined && docker.wait_for_services_timeout !== 0
          ? docker.wait_for_services_timeout
          : defaults.waitForServicesTimeout,
      services_limit: docker.services_limit ?? defaults.servicesLimit,
      privileged,
      services_privileged: docker.services_privileged ?? privileged,
    };
  }
  if (runner.ssh) {
    const defaults = CONFIG_DEFAULTS.ssh;
    out.ssh = {
      port: runner.ssh.port ?? defaults.port,
      user: runner.ssh.user ?? defaults.user,
      disable_strict_host_key_checking:
        runner.ssh.disable_strict_host_key_checking ?? defaults.disableStrictHostKeyChecking,
    };
  }
  if (runner.custom) {
    const c = runner.custom;
    const defaults = CONFIG_DEFAULTS.custom;
    out.custom = {
      config_exec_timeout: positive(c.config_exec_timeout, defaults.configExecTimeout),
      prepare_exec_timeout: positive(c.prepare_exec_timeout, defaults.prepareExecTimeout),
      cleanup_exec_timeout: positive(c.cleanup_exec_timeout, defaults.cleanupExecTimeout),
      graceful_kill_timeout: positive(c.graceful_kill_timeout, defaults.gracefulKillTimeout),
      force_kill_timeout: positive(c.force_kill_timeout, defaults.forceKillTimeout),
    };
  }
  if (runner.cache) {
    const cache = runner.cache;
    const defaults = CONFIG_DEFAULTS.cache;
    out.cache = { Type: cache.Type ?? defaults.type, Shared: cache.Shared ?? defaults.shared };
    if (cache.s3) {
      const s3 = cache.s3;
      out.cache.s3 = {
        AuthenticationType: s3.AuthenticationType
          ? s3.AuthenticationType.toLowerCase()
          : s3.ServerAddress && s3.AccessKey && s3.SecretKey
            ? 'access-key'
            : 'iam',
        DualStack: s3.DualStack ?? defaults.s3DualStack,
      };
    }
  }
  return out;
}

export function effectiveConfig(config: Config): EffectiveConfig {
  const listen = config.session_server?.listen_address ?? CONFIG_DEFAULTS.sessionServer.listenAddress;
  return {
    concurrent: config.concurrent ?? CONFIG_DEFAULTS.concurrent,
    check_interval: positive(config.check_interval, CONFIG_DEFAULTS.checkInterval),
    log_level: logLevel(config.log_level),
    log_format: config.log_format ?? CONFIG_DEFAULTS.logFormat,
    shutdown_timeout: positive(config.shutdown_timeout, CONFIG_DEFAULTS.shutdownTimeout),
    connection_max_age: config.connection_max_age ?? CONFIG_DEFAULTS.connectionMaxAge,
    session_server: {
      listen_address: listen,
      advertise_address: config.session_server?.advertise_address || listen,
      session_timeout: positive(config.session_server?.session_timeout, CONFIG_DEFAULTS.sessionServer.sessionTimeout),
    },
    runners: (config.runners ?? []).map(effectiveRunner),
  };
}
