import type { Executor } from './schema/runners.js';

/**
 * GitLab Runner 19.4's defaults, in one place (config-toml.md §3.1, §4, §5). `effective.ts` applies them; nothing
 * else in the package hard-codes a default.
 */
export const CONFIG_DEFAULTS = {
  concurrent: 1,
  checkInterval: 3,
  logLevel: 'info',
  logFormat: 'runner',
  shutdownTimeout: 30,
  connectionMaxAge: '15m0s',
  sessionServer: { listenAddress: '', sessionTimeout: 1800 },
  runner: {
    name: '',
    executor: '',
    limit: 0,
    outputLimit: 4096,
    requestConcurrency: 1,
    unhealthyRequestsLimit: 3,
    unhealthyInterval: '1h0m0s',
    jobStatusFinalUpdateRetryLimit: 10,
    strictCheckInterval: false,
    customBuildDirEnabledFor: ['docker', 'docker-windows', 'docker+machine', 'docker-autoscaler', 'kubernetes'],
  },
  docker: {
    pullPolicy: ['always'],
    waitForServicesTimeout: 30,
    servicesLimit: -1,
    privileged: false,
  },
  ssh: { port: '22', user: 'root', disableStrictHostKeyChecking: false },
  custom: {
    configExecTimeout: 3600,
    prepareExecTimeout: 3600,
    cleanupExecTimeout: 3600,
    gracefulKillTimeout: 600,
    forceKillTimeout: 10,
  },
  cache: { type: '', shared: false, s3DualStack: true },
  /** More labels than this after merging global and runner labels is an error. */
  maxLabels: 32,
} as const satisfies {
  runner: { customBuildDirEnabledFor: readonly Executor[] } & Record<string, unknown>;
} & Record<string, unknown>;
