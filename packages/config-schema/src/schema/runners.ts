import type { z } from 'zod';
import { autoscalerSchema } from './autoscaler.js';
import { cacheSchema } from './cache.js';
import { customSchema } from './custom.js';
import { dockerSchema } from './docker.js';
import { kubernetesSchema } from './kubernetes.js';
import { labels } from './labels.js';
import { machineSchema } from './machine.js';
import {
  artifactSchema,
  customBuildDirSchema,
  monitoringSchema,
  refereesSchema,
  runnerExperimentalSchema,
} from './runner-extras.js';
import { sshSchema } from './ssh.js';
import { bool, datetime, duration, int, map, oneOf, str, strings, table, tables } from './types.js';
import { instanceSchema, parallelsSchema, virtualboxSchema } from './vm.js';

/** `[[runners]]` (config-toml.md §5). */

export const EXECUTORS = [
  'shell',
  'docker',
  'docker-windows',
  'docker+machine',
  'docker-autoscaler',
  'instance',
  'ssh',
  'parallels',
  'virtualbox',
  'kubernetes',
  'custom',
] as const;
export type Executor = (typeof EXECUTORS)[number];

export const SHELLS = ['bash', 'sh', 'powershell', 'pwsh', ''] as const;

const replacedBy = (key: string) =>
  ({ status: 'removed', note: `removed in GitLab Runner 17.0 and no longer applied; use ${key}` }) as const;

export const runnerShape = {
  name: str(),
  url: str(),
  id: int(),
  token: str(),
  token_obtained_at: datetime(),
  token_expires_at: datetime(),
  'tls-ca-file': str(),
  'tls-cert-file': str(),
  'tls-key-file': str(),
  limit: int(),
  output_limit: int(),
  request_concurrency: int(),
  strict_check_interval: bool(),
  unhealthy_requests_limit: int(),
  unhealthy_interval: duration(),
  job_status_final_update_retry_limit: int(),
  executor: oneOf(EXECUTORS),
  shell: oneOf(SHELLS),
  builds_dir: str(),
  cache_dir: str(),
  clone_url: str(),
  environment: strings(),
  proxy_exec: bool(),
  pre_get_sources_script: str(),
  post_get_sources_script: str(),
  pre_build_script: str(),
  post_build_script: str(),
  prepare_timeout: duration(),
  get_sources_timeout: duration(),
  debug_trace_disabled: bool(),
  safe_directory_checkout: bool(),
  clean_git_config: bool(),
  labels: labels(),
  use_slot_cgroups: bool(),
  slot_cgroup_template: str(),
  step_runner_image: str(),
  feature_flags: map(bool()),
  custom_build_dir: customBuildDirSchema,
  cache: cacheSchema,
  artifact: artifactSchema,
  referees: refereesSchema,
  monitoring: monitoringSchema,
  experimental: runnerExperimentalSchema,
  docker: dockerSchema,
  ssh: sshSchema,
  parallels: parallelsSchema,
  virtualbox: virtualboxSchema,
  custom: customSchema,
  machine: machineSchema,
  autoscaler: autoscalerSchema,
  instance: instanceSchema,
  kubernetes: kubernetesSchema,
};

export const runnersSchema = tables(runnerShape, {
  pre_clone_script: replacedBy('pre_get_sources_script'),
  post_clone_script: replacedBy('post_get_sources_script'),
});
export const runnerSchema = table(runnerShape);
export type RunnerConfig = z.output<typeof runnerSchema>;
