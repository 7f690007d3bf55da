// `volumes` entries (docker-executor §7.2): host binds as written, cache volumes created and named as GitLab does.
import { posix } from 'node:path';
import { DockerConfigurationError } from './errors.js';

export interface VolumeSpec {
  /** Host path or volume name; undefined for a cache volume (`/path` alone). */
  source: string | undefined;
  destination: string;
  /** `ro`, `rw`, `z`, propagation … joined with `,` as written. */
  options: string | undefined;
}

const MODES =
  /^(ro|rw|z|Z|O|shared|slave|private|rshared|rslave|rprivate|nocopy)(,(ro|rw|z|Z|O|shared|slave|private|rshared|rslave|rprivate|nocopy))*$/;

/** Parses `[source:]destination[:options]`; only the destination is variable-expanded (by `expand`). */
export function parseVolume(entry: string, expand: (text: string) => string, projectDir: string): VolumeSpec {
  const parts = entry.split(':');
  let source: string | undefined;
  let destination: string;
  let options: string | undefined;
  if (parts.length === 1) destination = parts[0]!;
  else if (parts.length === 2) {
    if (MODES.test(parts[1]!)) {
      destination = parts[0]!;
      options = parts[1];
    } else [source, destination] = parts as [string, string];
  } else if (parts.length === 3) [source, destination, options] = parts as [string, string, string];
  else throw new DockerConfigurationError(`invalid volume specification: "${entry}"`);
  destination = expand(destination);
  if (!destination) throw new DockerConfigurationError(`invalid volume specification: "${entry}"`);
  if (!destination.startsWith('/')) destination = posix.join(projectDir, destination);
  destination = posix.normalize(destination).replace(/\/+$/, '') || '/';
  if (destination === '/')
    throw new DockerConfigurationError(`invalid volume specification: "${entry}": destination can't be '/'`);
  return { source: source || undefined, destination, options };
}

/** Whether `path` is `destination` or inside it. */
export function covers(destination: string, path: string): boolean {
  return path === destination || path.startsWith(`${destination}/`);
}

/**
 * Docker's shared builds dir rule (job-execution §3.2): builds_dir lies inside a host-bound `volumes` entry.
 * Only the literal destination is considered (variables are not known before the job).
 */
export function buildsDirIsHostBound(volumes: readonly string[] | undefined, buildsDir: string): boolean {
  for (const entry of volumes ?? []) {
    try {
      const spec = parseVolume(entry, (text) => text, '/');
      if (spec.source?.startsWith('/') && covers(spec.destination, buildsDir)) return true;
    } catch {
      // reported when the job runs
    }
  }
  return false;
}
