// `runnerkit cleanup [prune-volumes | prune | space | help]`: GitLab Runner's clear-docker-cache script through the
// Docker Engine API. Only objects GitLab Runner (and runnerkit) label `com.gitlab.gitlab-runner.managed=true` are
// touched by default; CONTAINER_FILTER_FLAGS (or FILTER_FLAG), IMAGE_FILTER_FLAGS and VOLUME_FILTER_FLAGS change
// that as in the script (comma-separated `label=…` filters). Difference, on purpose: the script prunes every unused
// network; runnerkit prunes only networks matching NETWORK_FILTER_FLAGS (default: the managed label), so a shared
// Docker host keeps other people's networks.
import { createDockerClient, type DockerClient, DockerError, type Filters } from '@runnerkit/docker-engine-client';
import type { Command } from 'commander';
import type { ConfigCommandIo } from './config.js';
import { processIo } from './config.js';
import { RunnerCommandError } from './register.js';

export const MANAGED_FILTER = 'label=com.gitlab.gitlab-runner.managed=true';

/** `label=a=b,label=c` → `{ label: ['a=b', 'c'] }`. */
export function parseFilterFlags(flags: string): Filters {
  const filters: Filters = {};
  for (const part of flags.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const equals = item.indexOf('=');
    if (equals <= 0)
      throw new RunnerCommandError('RUNNER_CLEANUP_FAILED', `invalid filter "${item}": expected name=value`);
    const name = item.slice(0, equals);
    (filters[name] ??= []).push(item.slice(equals + 1));
  }
  return filters;
}

export interface CleanupFilters {
  containers: Filters;
  images: Filters;
  volumes: Filters;
  networks: Filters;
}

export function cleanupFilters(env: Readonly<Record<string, string | undefined>>): CleanupFilters {
  const pick = (value: string | undefined, fallback: string) => parseFilterFlags(value ?? fallback);
  return {
    containers: pick(env.CONTAINER_FILTER_FLAGS ?? env.FILTER_FLAG, MANAGED_FILTER),
    images: pick(env.IMAGE_FILTER_FLAGS, MANAGED_FILTER),
    volumes: pick(env.VOLUME_FILTER_FLAGS, MANAGED_FILTER),
    networks: pick(env.NETWORK_FILTER_FLAGS, MANAGED_FILTER),
  };
}

export interface CleanupReport {
  containers: string[];
  images: string[];
  volumes: string[];
  networks: string[];
  spaceReclaimed: number;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0
    ? `${value}B`
    : `${value.toFixed(value < 10 ? 3 : value < 100 ? 2 : 1).replace(/\.?0+$/, '')}${units[unit]}`;
}

function apiAtLeast(version: string, wanted: number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < wanted.length; i++) {
    const a = parts[i] ?? 0;
    const b = wanted[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** `docker image prune -a --filter …`: every image matching the filters that no container (running or not) uses. */
async function pruneImages(docker: DockerClient, filters: Filters): Promise<{ deleted: string[]; space: number }> {
  const images = await docker.images.list({ all: false, filters });
  const used = new Set((await docker.containers.list({ all: true })).map((container) => container.ImageID));
  const deleted: string[] = [];
  let space = 0;
  for (const image of images) {
    if (used.has(image.Id)) continue;
    try {
      const items = await docker.images.remove(image.Id, { force: false });
      for (const item of items) if (item.Deleted) deleted.push(item.Deleted);
      space += image.Size;
    } catch (error) {
      // In use by a container created meanwhile, or a parent of another image: docker's prune skips those too.
      if (!(error instanceof DockerError)) throw error;
    }
  }
  return { deleted, space };
}

/** Runs `prune` (containers, images, networks) or `prune-volumes` (volumes too) against the daemon. */
export async function pruneDocker(
  docker: DockerClient,
  filters: CleanupFilters,
  withVolumes: boolean,
): Promise<CleanupReport> {
  const containers = await docker.containers.prune({ filters: filters.containers });
  const images = await pruneImages(docker, filters.images);
  let volumes: { VolumesDeleted?: string[] | null; SpaceReclaimed?: number } = {};
  if (withVolumes) {
    const version = await docker.apiVersion();
    // API ≥ 1.42 prunes only anonymous volumes unless all=true (`docker volume prune -a`); 1.41 prunes all.
    const volumeFilters = apiAtLeast(version, [1, 42]) ? { ...filters.volumes, all: ['true'] } : filters.volumes;
    volumes = await docker.volumes.prune({ filters: volumeFilters });
  }
  const networks = await docker.networks.prune({ filters: filters.networks });
  return {
    containers: containers.ContainersDeleted ?? [],
    images: images.deleted,
    volumes: volumes.VolumesDeleted ?? [],
    networks: networks.NetworksDeleted ?? [],
    spaceReclaimed: (containers.SpaceReclaimed ?? 0) + images.space + (volumes.SpaceReclaimed ?? 0),
  };
}

const sizeRw = (container: object) => (container as { SizeRw?: number }).SizeRw ?? 0;

/** `docker system df` as a table. */
export async function diskUsage(docker: DockerClient): Promise<string> {
  const df = await docker.system.df();
  const imagesActive = df.Images.filter((image) => image.Containers > 0);
  const imagesSize = df.LayersSize;
  const imagesReclaimable = df.Images.filter((image) => image.Containers <= 0).reduce(
    (sum, image) => sum + Math.max(image.Size - image.SharedSize, 0),
    0,
  );
  const containersActive = df.Containers.filter((container) => container.State === 'running');
  const containersSize = df.Containers.reduce((sum, container) => sum + sizeRw(container), 0);
  const volumesActive = df.Volumes.filter((volume) => (volume.UsageData?.RefCount ?? 0) > 0);
  const volumesSize = df.Volumes.reduce((sum, volume) => sum + Math.max(0, volume.UsageData?.Size ?? 0), 0);
  const volumesReclaimable = df.Volumes.filter((volume) => (volume.UsageData?.RefCount ?? 0) === 0).reduce(
    (sum, volume) => sum + Math.max(0, volume.UsageData?.Size ?? 0),
    0,
  );
  const cache = df.BuildCache ?? [];
  const rows = [
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    ['Images', df.Images.length, imagesActive.length, formatBytes(imagesSize), formatBytes(imagesReclaimable)],
    [
      'Containers',
      df.Containers.length,
      containersActive.length,
      formatBytes(containersSize),
      formatBytes(
        df.Containers.filter((container) => container.State !== 'running').reduce((s, c) => s + sizeRw(c), 0),
      ),
    ],
    [
      'Local Volumes',
      df.Volumes.length,
      volumesActive.length,
      formatBytes(volumesSize),
      formatBytes(volumesReclaimable),
    ],
    [
      'Build Cache',
      cache.length,
      cache.filter((entry) => entry.InUse).length,
      formatBytes(cache.reduce((s, e) => s + e.Size, 0)),
      formatBytes(cache.filter((e) => !e.InUse).reduce((s, e) => s + e.Size, 0)),
    ],
  ].map((row) => row.map(String));
  const widths = rows[0]?.map((_cell, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd((widths[column] ?? 0) + 3))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

function usage(): string {
  return [
    '',
    'Usage: runnerkit cleanup prune-volumes|prune|space|help',
    '',
    '\tprune-volumes    Remove all unused containers, images, and volumes',
    '\tprune            Remove all unused containers and images',
    '\tspace            Show docker disk usage',
    '\thelp             Show usage',
    '',
  ].join('\n');
}

export interface CleanupIo extends ConfigCommandIo {
  /** Docker host (default DOCKER_HOST, else the local socket). */
  dockerHost?: string;
}

export async function runCleanup(action: string, io: CleanupIo, dockerHost?: string): Promise<number> {
  if (action === 'help' || !['prune-volumes', 'prune', 'space'].includes(action)) {
    io.stdout.write(`${usage()}\n`);
    return 1;
  }
  const filters = cleanupFilters(io.env);
  const docker = createDockerClient({ host: dockerHost ?? io.dockerHost ?? (io.env.DOCKER_HOST || undefined) });
  try {
    if (action === 'space') {
      io.stdout.write('\nShow docker disk usage\n-----------------------------\n');
      io.stdout.write(`${await diskUsage(docker)}\n`);
      return 0;
    }
    const withVolumes = action === 'prune-volumes';
    const title = withVolumes
      ? 'Check and remove all unused containers (both dangling and unreferenced) including volumes.'
      : 'Check and remove all unused containers (both dangling and unreferenced)';
    io.stdout.write(`\n${title}\n${'-'.repeat(title.length)}\n`);
    const report = await pruneDocker(docker, filters, withVolumes);
    const section = (name: string, items: string[]) => {
      if (items.length > 0) io.stdout.write(`Deleted ${name}:\n${items.join('\n')}\n\n`);
    };
    section('Containers', report.containers);
    section('Images', report.images);
    section('Volumes', report.volumes);
    section('Networks', report.networks);
    io.stdout.write(`Total reclaimed space: ${formatBytes(report.spaceReclaimed)}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`ERROR: cleanup failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await docker.close();
  }
}

/** `runnerkit cleanup`. */
export function registerCleanupCommand(program: Command, io: CleanupIo = processIo()): Command {
  return program
    .command('cleanup')
    .description('remove unused runner-managed Docker containers, images, networks and volumes (clear-docker-cache)')
    .argument('[action]', 'prune-volumes (default), prune, space or help', 'prune-volumes')
    .option('--docker-host <host>', 'Docker daemon (env DOCKER_HOST; default unix:///var/run/docker.sock)')
    .action(async (action: string, options: { dockerHost?: string }) => {
      try {
        io.setExitCode(await runCleanup(action, io, options.dockerHost));
      } catch (error) {
        io.stderr.write(`FATAL: ${(error as Error).message}\n`);
        io.setExitCode(1);
      }
    });
}
