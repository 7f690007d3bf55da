// What the job's variables and the payload's artifact_format ask of an archive: format, compression level and
// file name. Pure functions the executors call before writeArchive; warnings are returned, never printed.
import { posix } from 'node:path';
import { compressionLevel, zstdLevel } from './archive/create.js';
import { ArchiveError } from './errors.js';

export type CacheArchiveKind = 'zip' | 'tar.zst' | 'zipzstd';
export type ArtifactArchiveKind = 'zip' | 'gzip' | 'raw' | 'zipzstd' | 'tar.zst';

/** The job variables the settings read (`CACHE_COMPRESSION_*`, `ARTIFACT_COMPRESSION_LEVEL`). */
export type ArchiveVariables = Readonly<Record<string, string | undefined>>;

export interface CacheArchiveSettings {
  /** `zip` (GitLab's default), `tar.zst` (`tarzstd`) or `zipzstd`; the file is called `cache.zip` in every case. */
  format: CacheArchiveKind;
  /** A deflate level (0–9) for `zip`, a zstd level for `tar.zst` and `zipzstd` (0 for zipzstd at `fastest`: stored). */
  level: number;
  /** Problems GitLab Runner warns about (unknown format or level names); the job goes on with the default. */
  warnings: readonly string[];
}

export interface ArtifactArchiveSettings {
  format: ArtifactArchiveKind;
  /** A deflate level (0–9) for `zip` and `gzip`, a zstd level for `zipzstd` and `tar.zst`; unused for `raw`. */
  level: number;
  warnings: readonly string[];
  /**
   * The uploaded file's name: the base name of `name` (already variable-expanded; empty or `.` → `default`)
   * plus `.zip` (zip, zipzstd), `.gz` (gzip), `.tar.zst` (tarzstd) or nothing (raw).
   */
  fileName(name: string | null | undefined): string;
}

const LEVEL_NAMES = ['fastest', 'fast', 'default', 'slow', 'slowest'];

/**
 * Deflate levels (compressionLevel) for zip and gzip, zstd levels (zstdLevel) for tar.zst and zipzstd; zipzstd at
 * `fastest` stores its entries (level 0), as GitLab Runner does.
 */
function levelFor(
  variable: 'CACHE_COMPRESSION_LEVEL' | 'ARTIFACT_COMPRESSION_LEVEL',
  variables: ArchiveVariables,
  format: CacheArchiveKind | ArtifactArchiveKind,
  warnings: string[],
): number {
  const name = (variables[variable] ?? '').trim();
  if (name !== '' && !LEVEL_NAMES.includes(name.toLowerCase())) {
    warnings.push(`${variable} "${name}" is not one of ${LEVEL_NAMES.join(', ')}; using the default compression level`);
  }
  if (format === 'zipzstd' && name.toLowerCase() === 'fastest') return 0;
  return format === 'tar.zst' || format === 'zipzstd' ? zstdLevel(name) : compressionLevel(name);
}

/** `CACHE_COMPRESSION_FORMAT` (zip, tarzstd, zipzstd; anything else → zip with a warning) and `CACHE_COMPRESSION_LEVEL`. */
export function cacheArchiveSettings(variables: ArchiveVariables): CacheArchiveSettings {
  const warnings: string[] = [];
  const requested = (variables.CACHE_COMPRESSION_FORMAT ?? '').trim();
  let format: CacheArchiveKind;
  switch (requested.toLowerCase()) {
    case '':
    case 'zip':
      format = 'zip';
      break;
    case 'tarzstd':
      format = 'tar.zst';
      break;
    case 'zipzstd':
      format = 'zipzstd';
      break;
    default:
      format = 'zip';
      warnings.push(`CACHE_COMPRESSION_FORMAT "${requested}" is not supported (zip, tarzstd, zipzstd); using zip`);
  }
  const level = levelFor('CACHE_COMPRESSION_LEVEL', variables, format, warnings);
  return { format, level, warnings };
}

const EXTENSIONS: Record<ArtifactArchiveKind, string> = {
  zip: '.zip',
  zipzstd: '.zip',
  gzip: '.gz',
  'tar.zst': '.tar.zst',
  raw: '',
};

/**
 * The payload's `artifact_format` (empty → zip; zip, gzip, raw, zipzstd, tarzstd) and `ARTIFACT_COMPRESSION_LEVEL`.
 * Any other format is refused with `ARCHIVE_FORMAT_UNKNOWN` (`unsupported archive format: <name>`), which fails
 * the upload as GitLab Runner's uploader does.
 */
export function artifactArchiveSettings(
  artifactFormat: string | null | undefined,
  variables: ArchiveVariables,
): ArtifactArchiveSettings {
  const warnings: string[] = [];
  let format: ArtifactArchiveKind;
  switch (artifactFormat ?? '') {
    case '':
    case 'zip':
      format = 'zip';
      break;
    case 'gzip':
      format = 'gzip';
      break;
    case 'raw':
      format = 'raw';
      break;
    case 'zipzstd':
      format = 'zipzstd';
      break;
    case 'tarzstd':
      format = 'tar.zst';
      break;
    default:
      throw new ArchiveError('ARCHIVE_FORMAT_UNKNOWN', `unsupported archive format: ${artifactFormat}`);
  }
  const level = levelFor('ARTIFACT_COMPRESSION_LEVEL', variables, format, warnings);
  const extension = EXTENSIONS[format];
  return {
    format,
    level,
    warnings,
    fileName(name) {
      const base = posix.basename(name ?? '');
      return `${base === '' || base === '.' ? 'default' : base}${extension}`;
    },
  };
}
