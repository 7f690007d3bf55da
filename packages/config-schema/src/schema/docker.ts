import { z } from 'zod';
import { isCpuCount, isMemorySize, isUlimitValue } from '../values/formats.js';
import { bool, formatted, int, list, map, oneOf, report, str, strings, table, tables } from './types.js';

/** `[runners.docker]` (config-toml.md §5.1) and `[[runners.docker.services]]` (§5.2). */

export const PULL_POLICIES = ['always', 'if-not-present', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** `string | string[]`, always normalised to a list; each entry exact lower case. */
export const pullPolicy = () =>
  z
    .union([str().transform((value) => [value]), z.array(z.string())], {
      error: (issue) =>
        `expected string or array of strings, found ${issue.input === undefined ? 'nothing' : typeof issue.input === 'bigint' ? 'integer' : Array.isArray(issue.input) ? 'array with non-string values' : typeof issue.input}`,
    })
    .pipe(z.array(oneOf(PULL_POLICIES)));

export const memorySize = () => formatted(isMemorySize, 'memory size (expected e.g. "128m", "1.5g", "512MiB")');
export const cpuCount = () => formatted(isCpuCount, 'CPU count (expected a decimal such as "1.5" or a fraction "3/2")');

const logOptions = () =>
  map(str()).superRefine((value, context) => {
    for (const key of Object.keys(value)) {
      if (key !== 'env' && key !== 'labels') {
        context.addIssue({
          code: 'custom',
          message: `log_options key ${JSON.stringify(key)} is not supported: expected "env" | "labels"`,
          params: { code: 'invalid_value' },
          path: [key],
          input: key,
        });
      }
    }
  });

const ulimit = () =>
  map(
    str().superRefine((value, context) => {
      if (!isUlimitValue(value)) {
        report(
          context,
          'invalid_format',
          `invalid ulimit value ${JSON.stringify(value)}: expected "soft" or "soft:hard" (64-bit integers)`,
          value,
        );
      }
    }),
  );

export const serviceShape = {
  name: str(),
  alias: str(),
  entrypoint: strings(),
  command: strings(),
  environment: strings(),
  suspend_data_path: str(),
};

export const dockerShape = {
  host: str(),
  tls_cert_path: str(),
  tls_verify: bool(),
  hostname: str(),
  image: str(),
  runtime: str(),
  memory: memorySize(),
  memory_swap: memorySize(),
  memory_reservation: memorySize(),
  cgroup_parent: str(),
  cpuset_cpus: str(),
  cpuset_mems: str(),
  cpus: cpuCount(),
  cpu_shares: int(),
  dns: strings(),
  dns_search: strings(),
  privileged: bool(),
  services_privileged: bool(),
  disable_entrypoint_overwrite: bool(),
  user: str(),
  allowed_users: strings(),
  group_add: strings(),
  userns_mode: str(),
  cap_add: strings(),
  cap_drop: strings(),
  oom_kill_disable: bool(),
  oom_score_adjust: int(),
  security_opt: strings(),
  services_security_opt: strings(),
  devices: strings(),
  device_cgroup_rules: strings(),
  gpus: str(),
  service_gpus: str(),
  services_devices: map(strings()),
  disable_cache: bool(),
  volumes: strings(),
  volume_keep: bool(),
  volume_driver: str(),
  volume_driver_ops: map(str()),
  cache_dir: str(),
  extra_hosts: strings(),
  volumes_from: strings(),
  network_mode: str(),
  pid_mode: str(),
  ipcmode: str(),
  mac_address: str(),
  links: strings(),
  services: tables(serviceShape),
  services_limit: int(),
  service_memory: memorySize(),
  service_memory_swap: memorySize(),
  service_memory_reservation: memorySize(),
  service_cgroup_parent: str(),
  service_slot_cgroup_template: str(),
  service_cpuset_cpus: str(),
  service_cpus: cpuCount(),
  service_cpu_shares: int(),
  wait_for_services_timeout: int(),
  allowed_images: strings(),
  allowed_services: strings(),
  allowed_privileged_images: strings(),
  allowed_privileged_services: strings(),
  pull_policy: pullPolicy(),
  allowed_pull_policies: list(oneOf(PULL_POLICIES), 'strings'),
  isolation: str(),
  shm_size: int(),
  tmpfs: map(str()),
  services_tmpfs: map(str()),
  sysctls: map(str()),
  helper_image: str(),
  helper_image_flavor: str(),
  container_labels: map(str()),
  enable_ipv6: bool(),
  ulimit: ulimit(),
  network_mtu: int(),
  log_options: logOptions(),
};

export const dockerSchema = table(dockerShape);
export type DockerConfig = z.output<typeof dockerSchema>;
export type DockerServiceConfig = z.output<ReturnType<typeof table<typeof serviceShape>>>;
