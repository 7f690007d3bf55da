// `runnerkit cleanup`: GitLab's clear-docker-cache, by label (docker-executor §10).
import type { DockerClient } from '@runnerkit/docker-engine-client';
import { MANAGED_LABEL } from './naming.js';

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
