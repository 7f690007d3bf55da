// `runnerkit cleanup`: GitLab's clear-docker-cache, by label (docker-executor §10).
import { type DockerClient, DockerError } from '@runnerkit/docker-engine-client';
import { LABEL_PREFIX, MANAGED_LABEL, OWNER_LABEL } from './naming.js';

export type CleanupMode = 'prune-volumes' | 'prune' | 'space';

export interface CleanupOptions {
  /** `prune-volumes` (default): stopped containers, unused volumes and networks labelled managed=true. */
  mode?: CleanupMode | undefined;
  /** Extra label filters (`key=value`), ANDed with `com.gitlab.gitlab-runner.managed=true`. */
  labels?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

export interface CleanupReport {
  containersDeleted: string[];
  volumesDeleted: string[];
  networksDeleted: string[];
  /** `space`: labelled objects currently present. */
  present?: { containers: number; volumes: number; networks: number } | undefined;
}

/**
 * Removes what runnerkit (or GitLab Runner) created and no longer uses: stopped labelled containers, then unused
 * labelled volumes and networks. Images are not labelled by runners and are left alone. `space` only reports.
 */
export async function cleanupDockerResources(
  client: DockerClient,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const label = [`${MANAGED_LABEL}=true`, ...(options.labels ?? [])];
  const signal = options.signal;
  if (options.mode === 'space') {
    const [containers, volumes, networks] = await Promise.all([
      client.containers.list({ all: true, filters: { label }, signal }),
      client.volumes.list({ filters: { label }, signal }),
      client.networks.list({ filters: { label }, signal }),
    ]);
    return {
      containersDeleted: [],
      volumesDeleted: [],
      networksDeleted: [],
      present: { containers: containers.length, volumes: volumes.length, networks: networks.length },
    };
  }
  const containers = await client.containers.prune({ filters: { label }, signal });
  const volumes = await client.volumes.prune({ filters: { label }, signal });
  const networks = await client.networks.prune({ filters: { label }, signal });
  return {
    containersDeleted: containers.ContainersDeleted ?? [],
    volumesDeleted: volumes.VolumesDeleted ?? [],
    networksDeleted: networks.NetworksDeleted ?? [],
  };
}

export interface AbandonedResourcesOptions {
  /** The runner whose objects are looked at (`runner.id` label: the short token). */
  shortToken: string;
  /** Only objects of this `system_id` (the same runner installation); all of the runner's when undefined. */
  systemId?: string | undefined;
  /**
   * Whether the process named by an object's `dev.runnerkit.owner` label is gone for good. Objects without that
   * label (GitLab Runner's, or another tool's) are never touched.
   */
  isOwnerGone: (owner: string) => boolean;
  signal?: AbortSignal | undefined;
}

export interface AbandonedResourcesReport {
  containers: string[];
  networks: string[];
  volumes: string[];
}

/**
 * Removes what a runner process that is gone (killed, crashed) left behind: its job containers (forcibly, with their
 * anonymous volumes), then its per-job networks and temporary volumes. Reusable cache volumes are kept, as after any
 * job. Only objects carrying this runner's labels and an owner that `isOwnerGone` confirms are removed, so a live
 * process sharing the daemon keeps its jobs. Objects that vanish meanwhile are not an error.
 */
export async function removeAbandonedResources(
  client: DockerClient,
  options: AbandonedResourcesOptions,
): Promise<AbandonedResourcesReport> {
  const label = [
    `${MANAGED_LABEL}=true`,
    `${LABEL_PREFIX}runner.id=${options.shortToken}`,
    ...(options.systemId ? [`${LABEL_PREFIX}runner.system_id=${options.systemId}`] : []),
    OWNER_LABEL,
  ];
  const signal = options.signal;
  const abandoned = (labels: Record<string, string> | null | undefined) => {
    const owner = labels?.[OWNER_LABEL];
    return owner !== undefined && owner !== '' && options.isOwnerGone(owner);
  };
  const report: AbandonedResourcesReport = { containers: [], networks: [], volumes: [] };
  const ignoreMissing = (error: unknown) => {
    if (!(error instanceof DockerError) || error.statusCode !== 404) throw error;
  };
  const containers = await client.containers.list({ all: true, filters: { label }, signal });
  for (const container of containers) {
    if (!abandoned(container.Labels)) continue;
    await client.containers.remove(container.Id, { force: true, volumes: true, signal }).catch(ignoreMissing);
    report.containers.push(container.Id);
  }
  const [networks, volumes] = await Promise.all([
    client.networks.list({ filters: { label }, signal }),
    client.volumes.list({ filters: { label: [...label, `${LABEL_PREFIX}reusable=false`] }, signal }),
  ]);
  for (const network of networks) {
    if (!abandoned(network.Labels)) continue;
    await client.networks.remove(network.Id, { signal }).catch(ignoreMissing);
    report.networks.push(network.Name);
  }
  for (const volume of volumes) {
    if (!abandoned(volume.Labels)) continue;
    await client.volumes.remove(volume.Name, { force: true, signal }).catch(ignoreMissing);
    report.volumes.push(volume.Name);
  }
  return report;
}
