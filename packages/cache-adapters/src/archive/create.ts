import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import { create as createTar } from 'tar';
import { ArchiveError } from '../errors.js';
import type { SelectedEntry } from './select.js';
import { zipStream } from './zip-writer.js';
import { parallelGzip } from './parallel-gzip.js';
import { createZstdCompressStream, loadZstd } from './zstd.js';

/** Cache archives: `zip` (GitLab's default), `tar.gz`, `tar.zst` (GitLab's `tarzstd`), `zipzstd`. */
export type CacheArchiveFormat = 'zip' | 'tar.gz' | 'tar.zst' | 'zipzstd';
/** Artifact archives: `zip`, `gzip`, `raw`, `zipzstd` (zip with zstd entries) and `tar.zst` (GitLab's `tarzstd`). */
export type ArtifactArchiveFormat = 'zip' | 'gzip' | 'raw' | 'zipzstd' | 'tar.zst';
export type ArchiveFormat = CacheArchiveFormat | ArtifactArchiveFormat;

export interface WriteArchiveOptions {
  /** The directory the entries are relative to. */
  root: string;
  /** What {@link selectFiles} returned (order is kept). */
  entries: readonly SelectedEntry[];
  format: ArchiveFormat;
  /**
   * Deflate level 0–9 for zip, tar.gz and gzip (default 6, GNU gzip's and zlib's default); a zstd level for tar.zst
   * and zipzstd (default 3, zstd's own; see {@link zstdLevel}). Level 0 stores zip and zipzstd entries.
   */
  level?: number;
  /** A stream to write to, or a file path (written to a temporary file, then renamed). */
  output: Writable | string;
}

/**
 * GitLab's `CACHE_COMPRESSION_LEVEL` / `ARTIFACT_COMPRESSION_LEVEL` names as deflate levels (runnerkit's mapping:
 * fastest 1, fast 3, default 6, slow 8, slowest 9); unknown or empty means default.
 */
export function compressionLevel(name: string | undefined): number {
  switch ((name ?? '').toLowerCase()) {
    case 'fastest':
      return 1;
    case 'fast':
      return 3;
    case 'slow':
      return 8;
    case 'slowest':
      return 9;
    default:
      return 6;
  }
}

/**
 * GitLab's `CACHE_COMPRESSION_LEVEL` / `ARTIFACT_COMPRESSION_LEVEL` names as zstd levels. GitLab Runner 19.4 picks
 * klauspost/compress encoder levels (fastest and fast → SpeedFastest, default → SpeedDefault, slow →
 * SpeedBetterCompression, slowest → SpeedBestCompression), which its author documents as about zstd levels 1, 3,
 * 7–8 and 11; runnerkit uses those: fastest 1, fast 1, default 3, slow 7, slowest 11. Unknown or empty means
 * default. (For zipzstd GitLab stores entries at `fastest`: pass level 0 to writeArchive for that.)
 */
export function zstdLevel(name: string | undefined): number {
  switch ((name ?? '').trim().toLowerCase()) {
    case 'fastest':
    case 'fast':
      return 1;
    case 'slow':
      return 7;
    case 'slowest':
      return 11;
    default:
      return 3;
  }
}

function tarStream(root: string, entries: readonly SelectedEntry[]): Readable {
  // node-tar reads names starting with `@` as archives to include; `./` keeps them plain.
  const names = entries.map((entry) => (entry.path.startsWith('@') ? `./${entry.path}` : entry.path));
  return createTar(
    { cwd: root, portable: true, noDirRecurse: true, follow: false, jobs: 16 },
    names,
  ) as unknown as Readable;
}

function tarGzStream(root: string, entries: readonly SelectedEntry[], level: number): Readable {
  return parallelGzip(tarStream(root, entries), level);
}

/** zstd threads for a tar.zst: the work leaves the event loop; more than four rarely pays for a cache. */
function zstdWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

async function* tarZstChunks(root: string, entries: readonly SelectedEntry[], level: number): AsyncGenerator<Buffer> {
  const compress = await createZstdCompressStream(level, { workers: zstdWorkers() });
  const tar = tarStream(root, entries);
  tar.on('error', (error) => compress.destroy(error));
  tar.pipe(compress);
  try {
    for await (const chunk of compress) yield chunk as Buffer;
  } finally {
    tar.unpipe(compress);
    tar.destroy();
    compress.destroy();
  }
}

/** GitLab's header encoding for gzip member names/comments: `e:` + URL escaping when non-ASCII or `%`. */
function gzipHeaderText(value: string): Buffer {
  const text = /[^\x20-\x7e]|%/.test(value) ? `e:${encodeURIComponent(value)}` : value;
  return Buffer.from(`${text}\0`, 'latin1');
}

async function* gzipMembers(root: string, entries: readonly SelectedEntry[], level: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    const full = join(root, entry.path);
    const info = await lstat(full);
    const header = Buffer.alloc(10);
    header.set([0x1f, 0x8b, 8, 0x08 | 0x10], 0);
    header.writeUInt32LE(Math.floor(info.mtimeMs / 1000) >>> 0, 4);
    header[8] = level >= 9 ? 2 : level <= 1 ? 4 : 0;
    header[9] = 255;
    yield Buffer.concat([header, gzipHeaderText(basename(entry.path)), gzipHeaderText(entry.path)]);
    let crc = 0;
    let size = 0;
    const source = createReadStream(full);
    const deflate = createDeflateRaw({ level });
    source.on('data', (chunk) => {
      crc = crc32(chunk as Buffer, crc);
      size += (chunk as Buffer).length;
    });
    source.on('error', (error) => deflate.destroy(error));
    source.pipe(deflate);
    for await (const chunk of deflate) yield chunk as Buffer;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size >>> 0, 4);
    yield trailer;
  }
}

function rawStream(root: string, entries: readonly SelectedEntry[]): Readable {
  const files = entries.filter((entry) => entry.type === 'file');
  if (files.length !== 1) {
    throw new ArchiveError(
      'ARCHIVE_RAW_MULTIPLE_FILES',
      files.length === 0 ? 'no file to send as raw' : 'only one file can be sent as raw',
    );
  }
  return createReadStream(join(root, files[0]!.path));
}

/** A readable archive of the entries, produced while it is read (never held whole in memory). */
export function archiveStream(options: Omit<WriteArchiveOptions, 'output'>): Readable {
  const root = resolve(options.root);
  const zstd = options.format === 'tar.zst' || options.format === 'zipzstd';
  const level = options.level ?? (zstd ? 3 : 6);
  switch (options.format) {
    case 'zip':
      return zipStream(root, options.entries, level);
    case 'zipzstd':
      return zipStream(root, options.entries, level, 'zstd');
    case 'tar.gz':
      return tarGzStream(root, options.entries, level);
    case 'tar.zst':
      return Readable.from(tarZstChunks(root, options.entries, level), { objectMode: false });
    case 'gzip':
      return Readable.from(gzipMembers(root, options.entries, level));
    case 'raw':
      return rawStream(root, options.entries);
    default:
      throw new ArchiveError('ARCHIVE_FORMAT_UNKNOWN', `unknown archive format ${JSON.stringify(options.format)}`);
  }
}

/** Writes an archive to a stream or, atomically, to a file (temporary file in the same directory, then rename). */
export async function writeArchive(options: WriteArchiveOptions): Promise<void> {
  // A missing zstd binding fails here, before any file is created.
  if (options.format === 'tar.zst' || options.format === 'zipzstd') await loadZstd();
  const source = archiveStream(options);
  if (typeof options.output !== 'string') {
    await pipeline(source, options.output);
    return;
  }
  const temporary = join(dirname(options.output), `.${basename(options.output)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await pipeline(source, createWriteStream(temporary));
    await rename(temporary, options.output);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
