// The Docker executor: one job's containers, services, network and volumes through the Engine API, with no
// helper image (docker-executor §3.2 option A). See README.md and docs/architecture/executor-docker.md.
import { randomBytes } from 'node:crypto';
import type { DockerConfig } from '@runnerkit/config-schema';
import {
  type AttachedSession,
  type ContainerCreateRequest,
  type ContainerInspect,
  createDockerClient,
  type DockerClient,
  DockerError,
  type EndpointSettings,
  type HostConfig,
} from '@runnerkit/docker-engine-client';
import {
  effectivePullPolicies,
  ImagePolicyError,
  type ImagePullError,
  isPrivilegedImageAllowed,
  type RegistryCredentials,
  resolveImageCredentials,
  runPullPlan,
  type TraceLine,
  verifyAllowedImage,
} from '@runnerkit/image-policy';
import {
  type Executor,
  type ExecutorDirectories,
  formatGoDuration,
  type JobContext,
  type JobLog,
  type PrepareRequest,
  type RunRequest,
  type RunResult,
  shellDetectionScript,
} from '@runnerkit/job-runtime';
import { buildHostConfig, refuseWindowsOnly } from './container-config.js';
import { DockerConfigurationError, DockerExecutorError, errorMessage } from './errors.js';
import { createFileStages } from './files.js';
import { runThroughInit } from './first-stage.js';
import { createSourcesStage, gitSettings } from './git.js';
import {
  cacheVolumeName,
  jobLabels,
  type LabelInput,
  MANAGED_LABEL,
  LABEL_PREFIX,
  type NamingInput,
  projectRealUniqueName,
  projectUniqueName,
  projectUniqueShortName,
  md5,
} from './naming.js';
import type { DockerExecutorOptions } from './options.js';
import { imageDefinition, logLine } from './images.js';
import { type StartedService, startServices, waitForServices } from './services.js';
import { openDirectoriesTar, parentEntries } from './tar.js';
import { buildsDirIsHostBound, covers, parseVolume } from './volumes.js';

/** What the executor created for the job; cleanup removes all of it. */
export interface JobResources {
  containers: Set<string>;
  temporaryVolumes: Set<string>;
  network: string | undefined;
}

/** The shared state of one job, used by the stages (sources, cache, artifacts). */
export interface DockerJobState {
  readonly client: DockerClient;
  readonly options: DockerExecutorOptions;
  readonly docker: DockerConfig;
  readonly job: JobContext;
  readonly buildContainer: string;
  readonly image: string;
  readonly naming: NamingInput;
  /** The project directory was created (GIT_STRATEGY=none) by the PUT that opened the mount points at prepare. */
  readonly projectDirCreated: boolean;
  /** Runs a shell script in the build container (as a stage does). */
  runInBuild(script: string, output: RunRequest['output'], signal: AbortSignal): Promise<RunResult>;
}

const BUILTIN_NETWORK_MODES = new Set(['bridge', 'host', 'none', 'default']);

/** A `network_mode` that is a user-defined network (so aliases apply). */
function isUserDefinedNetwork(mode: string | undefined): mode is string {
  return mode !== undefined && mode !== '' && !BUILTIN_NETWORK_MODES.has(mode) && !mode.startsWith('container:');
}

/** The job's variables as `KEY=value` (last definition wins; file variables as their path). */
export function containerEnv(job: JobContext, filter?: (key: string) => boolean): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (let index = job.variables.list.length - 1; index >= 0; index--) {
    const variable = job.variables.list[index]!;
    if (seen.has(variable.key)) continue;
    seen.add(variable.key);
    if (filter && !filter(variable.key)) continue;
    keys.unshift(variable.key);
  }
  return keys.map((key) => `${key}=${job.variables.get(key) ?? ''}`);
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

/** The SIGTERM-everything script GitLab execs before stopping a container (highest PID first, not PID 1). */
const TERMINATE_SCRIPT = `for pid in $(ls /proc | grep -E '^[0-9]+$' | sort -rn); do
  if [ "$pid" != 1 ] && [ "$pid" != $$ ]; then kill -TERM "$pid" 2>/dev/null; fi
done`;

/** Creates the Docker executor for one job. */
export function createDockerExecutor(options: DockerExecutorOptions): Executor & {
  /** The job's build container id once prepared (tests inspect it). */
  readonly buildContainerId: string | undefined;
  /** Every container, temporary volume and network the job created so far. */
  readonly resources: Readonly<JobResources>;
} {
  const docker: DockerConfig = options.docker ?? {};
  const shell = options.shell || 'bash';
  const buildsDir = options.buildsDir || '/builds';
  const cacheDir = options.cacheDir || '/cache';
  const directories: ExecutorDirectories = {
    buildsDir,
    cacheDir,
    sharedBuildsDir: buildsDirIsHostBound(docker.volumes, buildsDir),
    customBuildDir: options.customBuildDir ?? true,
  };
  let client: DockerClient | undefined = options.client;
  let ownsClient = false;
  const resources: JobResources = { containers: new Set(), temporaryVolumes: new Set(), network: undefined };
  let buildContainer: string | undefined;
  let state: DockerJobState | undefined;
  let cleaned = false;
  /** PID 1's stdin and output, attached before the start: the first stage runs through it (first-stage.ts). */
  let initSession: AttachedSession | undefined;
  /** The job's tmp dir lies on a temporary volume that cleanup removes. */
  let tmpDirDisposable = false;

  const getClient = (): DockerClient => {
    if (!client) {
      client = createDockerClient({ host: docker.host || undefined, tls: docker.tls_verify ? options.tls : undefined });
      ownsClient = true;
    }
    return client;
  };

  const shellScript = shellDetectionScript();

  /** Why the build container is not running, as a job-log message. */
  async function explainStopped(id: string, image: string): Promise<DockerExecutorError> {
    const docker = getClient();
    let logs = '';
    let exitCode = -1;
    try {
      const info = await docker.containers.inspect(id);
      exitCode = info.State.ExitCode;
      const output = await docker.containers.logs(id, { stdout: true, stderr: true, tail: 50 });
      const { stdout, stderr } = await output.collect();
      logs = `${stdout.toString()}${stderr.toString()}`.trim();
    } catch {
      // the container may be gone already
    }
    if (exitCode === 1 && /^shell not found$/m.test(logs))
      return new DockerExecutorError(
        'DOCKER_EXECUTOR_NO_SHELL',
        `the image "${image}" has no usable shell: the job needs one of /usr/local/bin/bash, /usr/bin/bash, /bin/bash, /usr/local/bin/sh, /usr/bin/sh, /bin/sh or /busybox/sh`,
        'runner_system_failure',
      );
    return new DockerExecutorError(
      'DOCKER_EXECUTOR_CONTAINER_EXITED',
      `the build container of image "${image}" exited with code ${exitCode} before the job could run: its entrypoint must start the command it is given (exec "$@"), or set image:entrypoint: [""] in the job${logs ? `; container output: ${logs.slice(0, 2000)}` : ''}`,
      'runner_system_failure',
    );
  }

  async function pull(
    job: JobContext,
    log: JobLog,
    image: string,
    jobPullPolicy: string[] | undefined,
    platform: string | undefined,
    signal: AbortSignal,
  ): Promise<string> {
    const docker2 = getClient();
    let policies: ReturnType<typeof effectivePullPolicies>;
    try {
      policies = effectivePullPolicies({
        image,
        jobPullPolicy,
        configPullPolicy: docker.pull_policy,
        allowedPullPolicies: docker.allowed_pull_policies,
      });
    } catch (error) {
      throw new DockerConfigurationError(errorMessage(error), { cause: error });
    }
    const sources = {
      jobVariables: job.variables.list.map((variable) => ({ key: variable.key, value: variable.value })),
      runnerEnvironment: options.runnerEnvironment,
      dockerConfig: options.dockerConfigFile,
      payloadCredentials: (
        (job.payload.credentials as { type: string; url: string; username: string; password: string }[] | undefined) ??
        []
      ).filter((entry) => entry?.type === 'registry'),
    };
    try {
      const result = await runPullPlan(
        { image, policies, platform },
        {
          inspect: async (name) => {
            const found = await docker2.images.find(name, { signal });
            return found
              ? { found: true as const, id: found.Id, repoDigests: found.RepoDigests ?? [] }
              : { found: false as const, error: `Error: No such image: ${name}` };
          },
          resolveCredentials: async (reference) =>
            (await resolveImageCredentials(reference, sources, {
              runCredentialHelper: options.runCredentialHelper,
            })) as { credentials: RegistryCredentials | undefined; lines: readonly TraceLine[] },
          pull: async (step) => {
            await docker2.images.pull(step.fromImage, {
              tag: step.tag,
              platform: step.platform,
              auth: step.registryAuth,
              signal,
            });
          },
          wait: (ms) => delay(ms, signal),
          line: (line) => logLine(log, line),
        },
      );
      return result.imageId;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (ImagePolicyError.isInstance(error) && error.code === 'IMAGE_POLICY_PULL_FAILED') {
        const pullError = error as ImagePullError;
        throw new DockerExecutorError('DOCKER_EXECUTOR_IMAGE_PULL', pullError.message, pullError.failureReason, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async function prepare(request: PrepareRequest): Promise<void> {
    const { job, log, signal } = request;
    const api = getClient();
    cleaned = false;
    tmpDirDisposable = false;
    refuseWindowsOnly(docker);
    const payload = job.payload;

    // job image
    const jobImage = imageDefinition(payload.image as Record<string, unknown> | null | undefined);
    const expandedJobImage = jobImage?.name ? job.variables.expand(jobImage.name) : '';
    const image = expandedJobImage || docker.image || '';
    if (!image)
      throw new DockerExecutorError(
        'DOCKER_EXECUTOR_NO_IMAGE',
        'no Docker image specified to run the build in',
        'runner_configuration_error',
      );
    log.println(`Using Docker executor with image ${image} ...`);
    if (expandedJobImage) {
      const decision = verifyAllowedImage({
        image,
        allowed: docker.allowed_images,
        internal: docker.image ? [docker.image] : [],
        kind: 'images',
      });
      if (!decision.allowed) {
        for (const line of decision.lines) logLine(log, line);
        throw new DockerExecutorError(
          'DOCKER_EXECUTOR_DISALLOWED_IMAGE',
          decision.error.message,
          'runner_configuration_error',
          { cause: decision.error },
        );
      }
    }
    if (docker.volume_keep)
      log.warning(
        'volume_keep is enabled: Docker volumes will not be removed after job completion and may accumulate on disk',
      );

    // identifiers and labels
    const naming: NamingInput = {
      shortToken: job.shortToken,
      runnerToken: options.runnerToken,
      systemId: options.systemId,
      projectId: Number(payload.job_info?.project_id ?? 0),
      concurrentProjectId: job.concurrentProjectId,
      jobId: payload.id,
    };
    const prefix = `${projectUniqueName(naming)}-${options.randomHex?.() ?? randomBytes(8).toString('hex')}`;
    const labelInput: LabelInput = {
      jobId: payload.id,
      jobUrl: job.variables.get('CI_JOB_URL'),
      sha: payload.git_info?.sha ?? undefined,
      beforeSha: (payload.git_info?.before_sha as string | null | undefined) ?? undefined,
      ref: payload.git_info?.ref ?? undefined,
      timeout: formatGoDuration(job.timeoutSeconds * 1000),
      projectId: naming.projectId,
      concurrentProjectId: job.concurrentProjectId,
      pipelineId: job.variables.get('CI_PIPELINE_ID'),
      shortToken: job.shortToken,
      concurrentId: job.concurrentId,
      systemId: options.systemId,
      owner: options.owner,
    };
    const containerLabels: Record<string, string> = {};
    for (const [key, value] of Object.entries(docker.container_labels ?? {}))
      containerLabels[key] = job.variables.expand(value);

    await removeLeftovers(api, naming, signal);

    // network and volumes are independent: created concurrently
    const networkPerBuild = job.featureFlags.FF_NETWORK_PER_BUILD === true && !docker.network_mode;
    const networkMode = networkPerBuild ? projectUniqueShortName(naming) : docker.network_mode || undefined;
    const createNetwork = async () => {
      if (!networkPerBuild || !networkMode) return;
      const name = networkMode;
      await api.networks.remove(name).catch(() => {});
      const created = await api.networks.create(
        {
          Name: name,
          Labels: jobLabels(labelInput, 'network'),
          EnableIPv6: docker.enable_ipv6 ?? false,
          Options: docker.network_mtu ? { 'com.docker.network.driver.mtu': String(docker.network_mtu) } : undefined,
        },
        { signal },
      );
      resources.network = created.Id;
    };
    const aliasesApply = networkPerBuild || isUserDefinedNetwork(networkMode);

    // volumes
    const binds: string[] = [];
    const openPermissions: string[] = [];
    const temporaryDestinations: string[] = [];
    const protectedRef =
      (payload.git_info as { protected?: boolean | null } | null | undefined)?.protected === true ||
      job.variables.get('CI_COMMIT_REF_PROTECTED') === 'true';
    const destinations = new Set<string>();
    const creations: Promise<void>[] = [createNetwork()];
    const volume = (destination: string, reusable: boolean) => {
      if (docker.cache_dir && reusable) {
        binds.push(
          `${docker.cache_dir}/${projectRealUniqueName(naming)}/${md5(destination)}${protectedRef ? '-protected' : ''}:${destination}`,
        );
        return;
      }
      const name = reusable
        ? cacheVolumeName(naming, destination, protectedRef)
        : `${prefix}-cache-${md5(destination)}`;
      binds.push(`${name}:${destination}`);
      openPermissions.push(destination);
      if (!reusable) temporaryDestinations.push(destination);
      const create = api.volumes.create(
        {
          Name: name,
          Driver: docker.volume_driver || undefined,
          DriverOpts:
            docker.volume_driver_ops && Object.keys(docker.volume_driver_ops).length > 0
              ? docker.volume_driver_ops
              : undefined,
          Labels: jobLabels(labelInput, 'cache', {
            destination,
            protected: String(protectedRef),
            reusable: String(reusable),
          }),
        },
        { signal },
      );
      creations.push(
        create.then(() => {
          if (!reusable) resources.temporaryVolumes.add(name);
        }),
      );
    };
    for (const entry of docker.volumes ?? []) {
      const spec = parseVolume(entry, (text) => job.variables.expand(text), job.directories.projectDir);
      if (destinations.has(spec.destination))
        throw new DockerConfigurationError(`volume for container path "${spec.destination}" is already defined`);
      destinations.add(spec.destination);
      if (spec.source) binds.push(`${spec.source}:${spec.destination}${spec.options ? `:${spec.options}` : ''}`);
      else volume(spec.destination, !docker.disable_cache);
    }
    const strategy = gitSettings({ job }).strategy;
    if (![...destinations].some((destination) => covers(destination, job.directories.buildsDir)))
      volume(job.directories.buildsDir, strategy === 'fetch' && !docker.disable_cache);
    await settleAll(creations);
    // The deepest mount covering the job's tmp dir decides whether cleanup removes it anyway.
    const tmpMount = [...destinations, ...temporaryDestinations]
      .filter((destination) => covers(destination, job.directories.tmpDir))
      .sort((a, b) => b.length - a.length)[0];
    tmpDirDisposable = !docker.volume_keep && tmpMount !== undefined && temporaryDestinations.includes(tmpMount);

    // services
    const services: StartedService[] = await startServices({
      client: api,
      docker,
      job,
      log,
      signal,
      prefix,
      labels: (extra) => ({ ...containerLabels, ...jobLabels(labelInput, 'service', extra) }),
      containerLabels,
      binds,
      networkMode,
      aliasesApply,
      pull: (name, policy, platform) => pull(job, log, name, policy, platform, signal),
      onCreated: (id) => resources.containers.add(id),
    });
    await waitForServices({ client: api, docker, log, services, signal, job });

    // build container
    await pull(job, log, image, jobImage?.pullPolicy, jobImage?.platform, signal);
    const user = docker.user || jobImage?.user || undefined;
    if (docker.allowed_users && docker.allowed_users.length > 0 && jobImage?.user && !docker.user) {
      if (!docker.allowed_users.includes(jobImage.user))
        throw new DockerConfigurationError(
          `user "${jobImage.user}" is not an allowed user: [${docker.allowed_users.join(' ')}]`,
        );
    }
    const privileged = isPrivilegedImageAllowed({
      privileged: docker.privileged ?? false,
      image: expandedJobImage || image,
      allowedPrivilegedImages: docker.allowed_privileged_images,
    });
    const host: HostConfig = {
      ...buildHostConfig(docker, privileged),
      Binds: binds,
      NetworkMode: networkMode,
      Init: job.featureFlags.FF_USE_INIT_WITH_DOCKER_EXECUTOR === true ? true : undefined,
    };
    if (!networkPerBuild && !networkMode) {
      // legacy links: every alias of every service resolves through /etc/hosts
      const links: string[] = [];
      for (const service of services)
        for (const ip of service.ips) {
          for (const alias of service.aliases) links.push(`${alias}:${ip}`);
          links.push(`${service.id.slice(0, 12)}:${ip}`);
        }
      host.ExtraHosts = [...(host.ExtraHosts ?? []), ...links];
    }
    let entrypoint: string[] | undefined;
    if (jobImage?.entrypoint && jobImage.entrypoint.length > 0) {
      if (docker.disable_entrypoint_overwrite) log.warning('Entrypoint override disabled');
      else entrypoint = jobImage.entrypoint;
    }
    const buildName = `${prefix}-build`;
    const endpoint: EndpointSettings | undefined = aliasesApply ? { Aliases: ['build', buildName] } : undefined;
    if (docker.mac_address) {
      log.warning(
        "mac_address is configured, but the Docker daemon's API version is older than 1.44; it cannot be applied to this container",
      );
    }
    const config: ContainerCreateRequest = {
      Image: image,
      Hostname: docker.hostname || projectUniqueName(naming),
      Cmd: ['sh', '-c', shellScript],
      Entrypoint: entrypoint,
      Labels: { ...containerLabels, ...jobLabels(labelInput, 'build') },
      Env: containerEnv(job),
      User: user,
      Tty: false,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: false,
      HostConfig: host,
      NetworkingConfig: endpoint && networkMode ? { EndpointsConfig: { [networkMode]: endpoint } } : undefined,
    };
    let created: { Id: string };
    try {
      created = await api.containers.create(config, { name: buildName, platform: jobImage?.platform, signal });
    } catch (error) {
      if (DockerError.isInstance(error) && error.statusCode === 400)
        throw new DockerConfigurationError(`creating the build container: ${error.message}`, { cause: error });
      throw error;
    }
    resources.containers.add(created.Id);
    buildContainer = created.Id;

    // One PUT before the start: open the permissions of fresh volume mount points (GitLab's cache-init) and,
    // for GIT_STRATEGY=none, create the project directory get_sources would otherwise create with a PUT of its own.
    // Only with plain local volumes: a driver (or local with options, e.g. tmpfs) may give the container a fresh
    // mount at start, so the directory would be gone.
    const plainVolumes =
      (!docker.volume_driver || docker.volume_driver === 'local') &&
      Object.keys(docker.volume_driver_ops ?? {}).length === 0;
    const projectDirEarly = strategy === 'none' && plainVolumes;
    const openDirectories = [...openPermissions];
    if (projectDirEarly) openDirectories.push(...parentEntries(job.directories.projectDir));
    if (openDirectories.length > 0)
      await api.containers.putArchive(created.Id, '/', openDirectoriesTar(openDirectories), { signal });
    initSession = await api.containers
      .attach(created.Id, { stdin: true, stdout: true, stderr: true, stream: true, signal })
      .catch(() => undefined); // without it, the first stage runs by exec as the others do
    try {
      await api.containers.start(created.Id, { signal });
    } catch (error) {
      if (DockerError.isInstance(error) && /executable file not found|no such file or directory/i.test(error.message))
        throw new DockerExecutorError(
          'DOCKER_EXECUTOR_NO_SHELL',
          `the image "${image}" has no usable shell: ${DockerError.isInstance(error) ? (error.daemonMessage ?? error.message) : ''}`,
          'runner_system_failure',
          { cause: error },
        );
      throw error;
    }
    const inspected = await api.containers.inspect(created.Id, { signal });
    if (!inspected.State.Running) {
      closeInitSession();
      throw await explainStopped(created.Id, image);
    }

    state = {
      client: api,
      options,
      docker,
      job,
      buildContainer: created.Id,
      image,
      naming,
      projectDirCreated: projectDirEarly,
      runInBuild: (script, output, runSignal) => runScript(script, output, runSignal),
    };
  }

  function closeInitSession(): void {
    initSession?.close();
    initSession = undefined;
  }

  /** The first stage through PID 1's stdin (no exec); see first-stage.ts. */
  async function runFirstStage(
    session: AttachedSession,
    id: string,
    script: string,
    output: RunRequest['output'],
    signal: AbortSignal,
  ): Promise<RunResult> {
    let stopping: Promise<void> | undefined;
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    const onAbort = () => {
      stopping ??= stopStage(id, ended).finally(() => session.close());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let code: number | undefined;
    try {
      code = await runThroughInit(session, script, (data, stream) => output.write(data, stream));
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      markEnded();
      signal.removeEventListener('abort', onAbort);
      session.close();
    }
    if (signal.aborted) {
      await stopping;
      throw signal.reason;
    }
    if (code === undefined) throw await explainStopped(id, state?.image ?? '');
    return { exitCode: code };
  }

  async function ensureRunning(id: string): Promise<void> {
    const api = getClient();
    let info: ContainerInspect;
    try {
      info = await api.containers.inspect(id);
    } catch (error) {
      throw new DockerExecutorError(
        'DOCKER_EXECUTOR_CONTAINER_EXITED',
        `the build container is gone: ${errorMessage(error)}`,
        'runner_system_failure',
        { cause: error },
      );
    }
    if (info.State.Running) return;
    await api.containers.start(id);
    const again = await api.containers.inspect(id);
    if (!again.State.Running) throw await explainStopped(id, state?.image ?? info.Config.Image ?? '');
  }

  /**
   * Stops a running stage: SIGTERM to every process but PID 1 (GitLab's script), up to 3 s for the stage to end,
   * then the container is killed (the next stage starts it again).
   */
  async function stopStage(id: string, ended: Promise<void>): Promise<void> {
    const api = getClient();
    try {
      const exec = await api.exec.create(id, { Cmd: ['sh', '-c', TERMINATE_SCRIPT], AttachStdin: false });
      const session = await api.exec.start(exec.Id, { timeout: 10_000 });
      await Promise.race([session.collect().catch(() => undefined), delay(10_000)]);
      session.close();
    } catch {
      // container already stopped
    }
    await Promise.race([ended, delay(3_000)]);
    await api.containers.kill(id).catch(() => {});
  }

  async function runScript(script: string, output: RunRequest['output'], signal: AbortSignal): Promise<RunResult> {
    if (!buildContainer)
      throw new DockerExecutorError('DOCKER_EXECUTOR_DAEMON', 'the executor is not prepared', 'runner_system_failure');
    if (signal.aborted) throw signal.reason;
    const id = buildContainer;
    const api = getClient();
    const init = initSession;
    initSession = undefined;
    if (init && !init.socket.destroyed) return runFirstStage(init, id, script, output, signal);
    init?.close();
    await ensureRunning(id);
    let execId: string;
    try {
      execId = (await api.exec.create(id, { Cmd: ['sh', '-c', shellScript], AttachStdin: true })).Id;
    } catch (error) {
      if (DockerError.isInstance(error) && error.code === 'DOCKER_CONFLICT')
        throw await explainStopped(id, state?.image ?? '');
      throw error;
    }
    const session = await api.exec.start(execId);
    let stopping: Promise<void> | undefined;
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    const onAbort = () => {
      stopping ??= stopStage(id, ended).finally(() => session.close());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      session.stdin.on('error', () => {});
      session.stdin.write(script);
      await session.closeStdin();
      for await (const piece of session) output.write(piece.data, piece.stream === 'stderr' ? 'stderr' : 'stdout');
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      markEnded();
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) {
      await stopping;
      throw signal.reason;
    }
    for (let attempt = 0; ; attempt++) {
      const info = await api.exec.inspect(execId);
      if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode | 0 };
      if (attempt > 200)
        throw new DockerExecutorError(
          'DOCKER_EXECUTOR_DAEMON',
          'the stage did not report its exit code',
          'runner_system_failure',
        );
      await delay(25);
    }
  }

  async function cleanup(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    closeInitSession();
    const api = client;
    if (!api) return;
    const containers = [...resources.containers];
    const network = resources.network;
    await Promise.all(
      containers.map(async (id) => {
        await api.containers.remove(id, { force: true, volumes: !docker.volume_keep }).catch(() => {});
      }),
    );
    await Promise.all(
      [...resources.temporaryVolumes].map((name) => api.volumes.remove(name, { force: true }).catch(() => {})),
    );
    if (network) {
      try {
        const info = await api.networks.inspect(network);
        await Promise.all(
          Object.keys(info.Containers ?? {}).map((id) =>
            api.containers.remove(id, { force: true, volumes: true }).catch(() => {}),
          ),
        );
      } catch {
        // gone
      }
      await api.networks.remove(network).catch(() => {});
    }
    resources.containers.clear();
    resources.temporaryVolumes.clear();
    resources.network = undefined;
    buildContainer = undefined;
    state = undefined;
    if (ownsClient) {
      await api.close().catch(() => {});
      client = undefined;
      ownsClient = false;
    }
  }

  const getState = (): DockerJobState => {
    if (!state)
      throw new DockerExecutorError('DOCKER_EXECUTOR_DAEMON', 'the executor is not prepared', 'runner_system_failure');
    return state;
  };

  const executor = {
    name: 'docker',
    shell,
    directories,
    environment: 'disposable' as const,
    prepare,
    run: (request: RunRequest) => {
      // cleanup_file_variables only deletes files in the job's tmp dir: when that dir is on a temporary volume,
      // removing the volume at cleanup does the same, so the exec (~50 ms) is skipped.
      if (request.stage === 'cleanup_file_variables' && tmpDirDisposable && buildContainer && !request.signal.aborted)
        return Promise.resolve({ exitCode: 0 });
      return runScript(request.script, request.output, request.signal);
    },
    cleanup,
    stages: { getSources: createSourcesStage(getState), ...createFileStages(getState) },
    get buildContainerId() {
      return buildContainer;
    },
    resources,
  };
  return executor;
}

/** Waits for every promise; rejects with the first failure only after all have settled (nothing left running). */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Removes what a crashed run of the same runner slot left behind (same runner, project, concurrency slot). */
async function removeLeftovers(api: DockerClient, naming: NamingInput, signal: AbortSignal): Promise<void> {
  const filters = {
    label: [
      `${MANAGED_LABEL}=true`,
      `${LABEL_PREFIX}runner.id=${naming.shortToken}`,
      `${LABEL_PREFIX}project.id=${naming.projectId}`,
      `${LABEL_PREFIX}project.runner_id=${naming.concurrentProjectId}`,
    ],
  };
  // the three lists are independent; containers go first, since volumes and networks in use cannot be removed
  const [containers, volumes, networks] = await Promise.all([
    api.containers.list({ all: true, filters, signal }),
    api.volumes.list({ filters: { label: [...filters.label, `${LABEL_PREFIX}reusable=false`] }, signal }),
    api.networks.list({ filters, signal }),
  ]);
  await Promise.all(containers.map((c) => api.containers.remove(c.Id, { force: true, volumes: true }).catch(() => {})));
  await Promise.all([
    ...volumes.map((v) => api.volumes.remove(v.Name, { force: true }).catch(() => {})),
    ...networks.map((n) => api.networks.remove(n.Id).catch(() => {})),
  ]);
}
