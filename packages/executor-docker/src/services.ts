// Services (docker-executor §9): definitions, aliases, containers, and the health check dialled from the host.
import { connect } from 'node:net';
import type { DockerConfig } from '@runnerkit/config-schema';
import type { ContainerCreateRequest, DockerClient } from '@runnerkit/docker-engine-client';
import {
  isPrivilegedServiceAllowed,
  parseServiceImage,
  parseUserAliases,
  type ServiceImage,
  verifyAllowedImage,
} from '@runnerkit/image-policy';
import type { JobContext, JobLog } from '@runnerkit/job-runtime';
import { serviceHostConfig } from './container-config.js';
import { DockerConfigurationError, DockerExecutorError, errorMessage } from './errors.js';
import { type ImageDefinition, imageDefinition, logLine } from './images.js';
import { serviceContainerName } from './naming.js';

export interface StartedService {
  id: string;
  /** Container name. */
  name: string;
  image: ServiceImage;
  aliases: string[];
  ips: string[];
}

export interface StartServicesOptions {
  client: DockerClient;
  docker: DockerConfig;
  job: JobContext;
  log: JobLog;
  signal: AbortSignal;
  /** `P-R` of the job's container names. */
  prefix: string;
  labels: (extra: Record<string, string>) => Record<string, string>;
  containerLabels: Record<string, string>;
  binds: string[];
  networkMode: string | undefined;
  aliasesApply: boolean;
  pull: (image: string, pullPolicy: string[] | undefined, platform: string | undefined) => Promise<string>;
  onCreated: (id: string) => void;
}

interface Definition extends ImageDefinition {
  environment: string[];
  fromConfig: boolean;
}

/** `[[runners.docker.services]]` then the job's services, expanded, checked and limited. */
export function serviceDefinitions(docker: DockerConfig, job: JobContext, log: JobLog): Definition[] {
  const list: Definition[] = [];
  for (const service of docker.services ?? []) {
    list.push({
      name: job.variables.expand(service.name ?? ''),
      alias: service.alias ? job.variables.expand(service.alias) : undefined,
      entrypoint: service.entrypoint,
      command: service.command,
      environment: (service.environment ?? []).map((entry) => job.variables.expand(entry)),
      fromConfig: true,
    });
  }
  const internal = (docker.services ?? []).map((service) => service.name ?? '');
  for (const raw of job.payload.services ?? []) {
    const definition = imageDefinition(raw as Record<string, unknown>);
    if (!definition) continue;
    const name = job.variables.expand(definition.name);
    const decision = verifyAllowedImage({ image: name, allowed: docker.allowed_services, internal, kind: 'services' });
    if (!decision.allowed) {
      for (const line of decision.lines) logLine(log, line);
      throw new DockerExecutorError(
        'DOCKER_EXECUTOR_DISALLOWED_IMAGE',
        decision.error.message,
        'runner_configuration_error',
        { cause: decision.error },
      );
    }
    list.push({
      ...definition,
      name,
      alias: definition.alias ? job.variables.expand(definition.alias) : undefined,
      environment: (definition.variables ?? []).map(({ key, value }) => `${key}=${job.variables.expand(value)}`),
      fromConfig: false,
    });
  }
  const limit = docker.services_limit ?? -1;
  if (limit >= 0 && list.length > limit)
    throw new DockerConfigurationError(`too many services requested: ${list.length}, only ${limit} allowed`);
  for (const definition of list)
    if (!definition.name) throw new DockerConfigurationError(`invalid service image name: ${definition.name}`);
  return list;
}

/** Pulls, creates and starts every service; returns them with their aliases and IP addresses. */
export async function startServices(options: StartServicesOptions): Promise<StartedService[]> {
  const { client, docker, job, log, signal } = options;
  const definitions = serviceDefinitions(docker, job, log);
  const taken = new Set<string>();
  const started: StartedService[] = [];
  // Services see public and runner-internal variables only (no project CI/CD variables).
  const visible = new Set(
    job.variables.list.filter((variable) => variable.public || variable.internal).map((variable) => variable.key),
  );
  const baseEnv: string[] = [];
  for (const key of visible) baseEnv.push(`${key}=${job.variables.get(key) ?? ''}`);

  for (const [index, definition] of definitions.entries()) {
    let image: ServiceImage;
    let userAliases: string[];
    try {
      image = parseServiceImage(definition.name);
      userAliases = parseUserAliases(definition.alias);
    } catch (error) {
      throw new DockerConfigurationError(`invalid service image name: ${definition.name}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const aliases: string[] = [];
    for (const alias of [...new Set([...image.aliases, ...userAliases])]) {
      if (taken.has(alias)) {
        log.warning(
          `Skipping alias "${alias}" for service "${definition.name}" (services[${index}]): alias is already in use by another service.`,
        );
        continue;
      }
      aliases.push(alias);
    }
    if (aliases.length === 0) continue;
    for (const alias of aliases) taken.add(alias);

    const version = image.version.startsWith('@') ? image.version : `:${image.version}`;
    log.println(`Starting service ${image.service}${version}...`);
    await options.pull(image.imageToPull, definition.pullPolicy, definition.platform);

    const privileged = isPrivilegedServiceAllowed({
      privileged: docker.privileged ?? false,
      servicesPrivileged: docker.services_privileged,
      service: definition.name,
      allowedPrivilegedServices: docker.allowed_privileged_services,
    });
    let entrypoint: string[] | undefined;
    if (definition.entrypoint && definition.entrypoint.length > 0) {
      if (docker.disable_entrypoint_overwrite) log.warning('Entrypoint override disabled');
      else entrypoint = definition.entrypoint;
    }
    const name = serviceContainerName(options.prefix, image.service, index);
    const prefixedLabels: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.containerLabels)) prefixedLabels[key] = value;
    const config: ContainerCreateRequest = {
      Image: image.imageToPull,
      Labels: options.labels({ service: image.service, 'service.version': image.version, ...prefixedLabels }),
      Env: [...baseEnv, ...definition.environment],
      Cmd: definition.command && definition.command.length > 0 ? definition.command : undefined,
      Entrypoint: entrypoint,
      User: definition.user,
      HostConfig: {
        ...serviceHostConfig(docker, privileged, definition.name),
        Binds: options.binds,
        NetworkMode: options.networkMode,
        Init: job.featureFlags.FF_USE_INIT_WITH_DOCKER_EXECUTOR === true ? true : undefined,
      },
      NetworkingConfig:
        options.aliasesApply && options.networkMode
          ? { EndpointsConfig: { [options.networkMode]: { Aliases: aliases } } }
          : undefined,
    };
    const created = await client.containers.create(config, { name, platform: definition.platform, signal });
    options.onCreated(created.Id);
    await client.containers.start(created.Id, { signal });
    const info = await client.containers.inspect(created.Id, { signal });
    const ips = Object.values(info.NetworkSettings.Networks ?? {})
      .map((network) => network.IPAddress)
      .filter((ip): ip is string => !!ip);
    started.push({ id: created.Id, name, image, aliases, ips });
  }
  return started;
}

/** Dials `host:port` once; resolves true when it accepts a TCP connection within `timeoutMs`. */
function dial(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

interface ProbeResult {
  healthy: boolean;
  log: string[];
  error?: string;
}

async function probe(
  client: DockerClient,
  service: StartedService,
  hostNetwork: boolean,
  deadline: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const info = await client.containers.inspect(service.id);
  const env = info.Config.Env ?? [];
  const override = env.map((entry) => entry.split('=')).find(([key]) => key?.toUpperCase() === 'HEALTHCHECK_TCP_PORT');
  let ports: number[];
  if (override) {
    const port = Number(override.slice(1).join('='));
    if (!Number.isInteger(port) || port <= 0 || port > 65535)
      return { healthy: false, log: [], error: `invalid health check tcp port: ${override.slice(1).join('=')}` };
    ports = [port];
  } else {
    ports = Object.keys(info.Config.ExposedPorts ?? {})
      .filter((key) => key.endsWith('/tcp') || !key.includes('/'))
      .map((key) => Number.parseInt(key, 10))
      .sort((a, b) => a - b)
      .slice(0, 20);
  }
  if (ports.length === 0) return { healthy: false, log: [], error: `service "${service.name}" has no exposed ports` };
  const hosts = hostNetwork ? ['127.0.0.1'] : service.ips;
  const lines = [`waiting for TCP connection to ${hosts.join(', ') || '(no address)'} on [${ports.join(' ')}]...`];
  while (!signal.aborted) {
    for (const host of hosts)
      for (const port of ports) if (await dial(host, port, 500)) return { healthy: true, log: lines };
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { healthy: false, log: lines, error: `service "${service.name}-wait-for-service" timeout` };
}

async function serviceLogs(client: DockerClient, id: string): Promise<string> {
  try {
    const output = await client.containers.logs(id, { stdout: true, stderr: true, timestamps: true, timeout: 5_000 });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const piece of output) {
      chunks.push(piece.data);
      size += piece.data.length;
      if (size >= 64 * 1024) {
        output.destroy();
        break;
      }
    }
    return Buffer.concat(chunks)
      .subarray(0, 64 * 1024)
      .toString('utf8');
  } catch (error) {
    return `(cannot read the service's logs: ${errorMessage(error)})`;
  }
}

/** GitLab's wait for services: one of the exposed ports of each service accepting a TCP connection, dialled from here. */
export async function waitForServices(options: {
  client: DockerClient;
  docker: DockerConfig;
  log: JobLog;
  services: StartedService[];
  signal: AbortSignal;
  job: JobContext;
}): Promise<void> {
  const { client, docker, log, services, signal } = options;
  const configured = docker.wait_for_services_timeout ?? 0;
  if (configured < 0 || services.length === 0) return;
  const seconds = configured === 0 ? 30 : configured;
  log.println(`Waiting for services to be up and running (timeout ${seconds} seconds)...`);
  const deadline = Date.now() + seconds * 1000;
  const hostNetwork = docker.network_mode === 'host';
  const results = await Promise.all(services.map((service) => probe(client, service, hostNetwork, deadline, signal)));
  if (signal.aborted) throw signal.reason;
  for (const [index, result] of results.entries()) {
    if (result.healthy) continue;
    const service = services[index]!;
    const logs = await serviceLogs(client, service.id);
    const yellow = '\x1b[0;33m';
    const reset = '\x1b[0;m';
    const block = [
      '',
      `${yellow}*** WARNING:${reset} Service ${service.name} probably didn't start properly.`,
      '',
      'Health check error:',
      result.error ?? '',
      '',
      'Health check container logs:',
      ...result.log,
      '',
      'Service container logs:',
      ...logs.replace(/\n$/, '').split('\n'),
      '',
      `${yellow}*********${reset}`,
      '',
    ];
    for (const line of block) log.println(line);
  }
}
