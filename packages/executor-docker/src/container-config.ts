// [runners.docker] → Engine API fields (docker-executor §5.6, §9.3). Pure functions: the executor calls them and
// tests inspect the containers they produce.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { DeviceMapping, DeviceRequest, HostConfig, Ulimit } from '@runnerkit/docker-engine-client';
import type { DockerConfig } from '@runnerkit/config-schema';
import { matchesAllowList } from '@runnerkit/image-policy';
import { DockerConfigurationError } from './errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's RAMInBytes: `128m` → 134217728 (binary units, case-insensitive, optional `b`/`ib`). */
export function parseMemorySize(value: string, key: string): number {
  const match = /^(\d+(?:\.\d*)?|\.\d+) ?([bkmgtp])?(?:i?b)?$/i.exec(value.trim());
  if (!match) throw new DockerConfigurationError(`invalid ${key} value "${value}": expected e.g. "128m", "1g"`);
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()]!);
}

/** `cpus = "1.5"` (or `"3/2"`) → NanoCpus. */
export function parseCpus(value: string, key: string): number {
  const match = /^(\d+(?:\.\d*)?|\.\d+)(?:\/(\d+(?:\.\d*)?|\.\d+))?$/.exec(value.trim());
  if (!match) throw new DockerConfigurationError(`invalid ${key} value "${value}": expected a number such as "1.5"`);
  const n = Number(match[1]) / (match[2] ? Number(match[2]) : 1);
  return Math.round(n * 1e9);
}

/** `host[:container[:perms]]`. */
export function parseDevice(value: string): DeviceMapping {
  const parts = value.split(':');
  if (parts.length > 3) throw new DockerConfigurationError(`failed to parse device string "${value}": too many colons`);
  const [host, container, perms] = parts;
  if (!host) throw new DockerConfigurationError(`failed to parse device string "${value}": empty host path`);
  return { PathOnHost: host, PathInContainer: container || host, CgroupPermissions: perms || 'rwm' };
}

/** The docker CLI `--gpus` syntax: `all`, `2`, `device=0,1`, `count=2,capabilities=utility`, `driver=nvidia`. */
export function parseGpus(value: string): DeviceRequest {
  const request: DeviceRequest = { Driver: '', Count: 0, DeviceIDs: [], Capabilities: [['gpu']], Options: {} };
  const trimmed = value.trim();
  if (trimmed === 'all') return { ...request, Count: -1 };
  if (/^\d+$/.test(trimmed)) return { ...request, Count: Number(trimmed) };
  // csv of key=value; a device list may itself contain commas inside quotes: `"device=0,1"`
  const fields = trimmed.replace(/^"|"$/g, '').match(/(?:[^,"]|"[^"]*")+/g) ?? [];
  let current = '';
  for (const field of fields) {
    const equals = field.indexOf('=');
    if (equals === -1) {
      if (current === 'device') request.DeviceIDs!.push(field);
      else if (current === 'capabilities') request.Capabilities![0]!.push(field);
      else throw new DockerConfigurationError(`invalid gpus value "${value}"`);
      continue;
    }
    current = field.slice(0, equals);
    const v = field.slice(equals + 1).replace(/^"|"$/g, '');
    if (current === 'count') request.Count = v === 'all' ? -1 : Number(v);
    else if (current === 'device') request.DeviceIDs!.push(...v.split(','));
    else if (current === 'driver') request.Driver = v;
    else if (current === 'capabilities') request.Capabilities = [v.split(',')];
    else if (current === 'options') {
      const [k, o] = v.split('=');
      request.Options![k!] = o ?? '';
    } else throw new DockerConfigurationError(`invalid gpus value "${value}": unknown field "${current}"`);
  }
  return request;
}

export function parseUlimits(table: Record<string, string> | undefined): Ulimit[] | undefined {
  if (!table || Object.keys(table).length === 0) return undefined;
  return Object.entries(table).map(([name, value]) => {
    const [soft, hard] = value.split(':');
    const Soft = Number(soft);
    const Hard = hard === undefined ? Soft : Number(hard);
    if (!Number.isFinite(Soft) || !Number.isFinite(Hard))
      throw new DockerConfigurationError(`invalid ulimit value "${value}" for "${name}"`);
    return { Name: name, Soft, Hard };
  });
}

export function checkDns(servers: readonly string[] | undefined): string[] | undefined {
  if (!servers || servers.length === 0) return undefined;
  for (const server of servers)
    if (isIP(server) === 0) throw new DockerConfigurationError(`invalid DNS server address "${server}"`);
  return [...servers];
}

/** `seccomp=<path>` is read (the path is named in config.toml) and inlined as JSON, as the docker CLI does. */
export function securityOptions(options: readonly string[] | undefined): string[] | undefined {
  if (!options || options.length === 0) return undefined;
  return options.map((option) => {
    const match = /^seccomp[=:](.+)$/.exec(option);
    if (!match || match[1] === 'unconfined' || match[1] === 'builtin' || match[1]!.trim().startsWith('{'))
      return option;
    let content: string;
    try {
      content = readFileSync(match[1]!, 'utf8');
      JSON.parse(content);
    } catch (cause) {
      throw new DockerConfigurationError(`opening seccomp profile (${match[1]}) failed: ${(cause as Error).message}`, {
        cause,
      });
    }
    return `seccomp=${JSON.stringify(JSON.parse(content))}`;
  });
}

/** Keys that only mean something for Windows containers; runnerkit runs Linux containers only. */
export function refuseWindowsOnly(docker: DockerConfig): void {
  const isolation = docker.isolation;
  if (isolation !== undefined && isolation !== '' && isolation !== 'default') {
    if (isolation !== 'process' && isolation !== 'hyperv')
      throw new DockerConfigurationError(
        `the isolation value "${isolation}" is not valid. the valid values are: 'process', 'hyperv', 'default' and an empty string`,
      );
    throw new DockerConfigurationError(
      `[runners.docker] isolation = "${isolation}" is a Windows-only option: this runner runs Linux containers; remove it or set it to "default"`,
    );
  }
}

function nonEmpty<T>(list: readonly T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? [...list] : undefined;
}

function nonEmptyMap(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? { ...map } : undefined;
}

/** The HostConfig fields of the build container that come straight from [runners.docker]. */
export function buildHostConfig(docker: DockerConfig, privileged: boolean): HostConfig {
  const host: HostConfig = {
    Privileged: privileged,
    CapAdd: nonEmpty(docker.cap_add),
    CapDrop: nonEmpty(docker.cap_drop),
    Devices: docker.devices?.map(parseDevice),
    DeviceCgroupRules: nonEmpty(docker.device_cgroup_rules),
    DeviceRequests: docker.gpus ? [parseGpus(docker.gpus)] : undefined,
    SecurityOpt: securityOptions(docker.security_opt),
    Sysctls: nonEmptyMap(docker.sysctls),
    Ulimits: parseUlimits(docker.ulimit),
    Memory: docker.memory ? parseMemorySize(docker.memory, 'memory') : undefined,
    MemorySwap: docker.memory_swap ? parseMemorySize(docker.memory_swap, 'memory_swap') : undefined,
    MemoryReservation: docker.memory_reservation
      ? parseMemorySize(docker.memory_reservation, 'memory_reservation')
      : undefined,
    NanoCpus: docker.cpus ? parseCpus(docker.cpus, 'cpus') : undefined,
    CpuShares: docker.cpu_shares || undefined,
    CpusetCpus: docker.cpuset_cpus || undefined,
    CpusetMems: docker.cpuset_mems || undefined,
    CgroupParent: docker.cgroup_parent || undefined,
    ShmSize: docker.shm_size || undefined,
    OomKillDisable: docker.oom_kill_disable ?? false,
    OomScoreAdj: docker.oom_score_adjust || undefined,
    Runtime: docker.runtime || undefined,
    UsernsMode: docker.userns_mode || undefined,
    GroupAdd: nonEmpty(docker.group_add),
    IpcMode: docker.ipcmode || undefined,
    PidMode: docker.pid_mode || undefined,
    Dns: checkDns(docker.dns),
    DnsSearch: nonEmpty(docker.dns_search),
    ExtraHosts: nonEmpty(docker.extra_hosts),
    Links: nonEmpty(docker.links),
    VolumesFrom: nonEmpty(docker.volumes_from),
    VolumeDriver: docker.volume_driver || undefined,
    Tmpfs: nonEmptyMap(docker.tmpfs),
    LogConfig: { Type: 'json-file', Config: { ...(docker.log_options ?? {}) } },
    RestartPolicy: { Name: 'no' },
  };
  return host;
}

/** The HostConfig fields of a service container (service_* resources; not cap_add, sysctls, ulimit, …). */
export function serviceHostConfig(docker: DockerConfig, privileged: boolean, image: string): HostConfig {
  const devices: DeviceMapping[] = [];
  for (const [pattern, list] of Object.entries(docker.services_devices ?? {}))
    if (matchesAllowList(image, [pattern])) devices.push(...list.map(parseDevice));
  return {
    Privileged: privileged,
    Memory: docker.service_memory ? parseMemorySize(docker.service_memory, 'service_memory') : undefined,
    MemorySwap: docker.service_memory_swap
      ? parseMemorySize(docker.service_memory_swap, 'service_memory_swap')
      : undefined,
    MemoryReservation: docker.service_memory_reservation
      ? parseMemorySize(docker.service_memory_reservation, 'service_memory_reservation')
      : undefined,
    CgroupParent: docker.service_cgroup_parent || undefined,
    CpusetCpus: docker.service_cpuset_cpus || undefined,
    CpuShares: docker.service_cpu_shares || undefined,
    NanoCpus: docker.service_cpus ? parseCpus(docker.service_cpus, 'service_cpus') : undefined,
    Devices: devices.length > 0 ? devices : undefined,
    DeviceRequests: docker.service_gpus ? [parseGpus(docker.service_gpus)] : undefined,
    Dns: checkDns(docker.dns),
    DnsSearch: nonEmpty(docker.dns_search),
    ExtraHosts: nonEmpty(docker.extra_hosts),
    Runtime: docker.runtime || undefined,
    UsernsMode: docker.userns_mode || undefined,
    ShmSize: docker.shm_size || undefined,
    Tmpfs: nonEmptyMap(docker.services_tmpfs),
    SecurityOpt: securityOptions(docker.services_security_opt),
    LogConfig: { Type: 'json-file', Config: { ...(docker.log_options ?? {}) } },
    RestartPolicy: { Name: 'no' },
  };
}
