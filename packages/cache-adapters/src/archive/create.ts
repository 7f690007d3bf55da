import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import { create as createTar } from 'tar';
import { ArchiveError } from '../errors.js';
import type { SelectedEntry } from './select.js';
import { zipStream } from './zip-writer.js';
import { parallelGzip } from './parallel-gzip.js';

export type CacheArchiveFormat = 'zip' | 'tar.gz';
export type ArtifactArchiveFormat = 'zip' | 'gzip' | 'raw';
export type ArchiveFormat = CacheArchiveFormat | ArtifactArchiveFormat;

export interface WriteArchiveOptions {
  /** The directory the entries are relative to. */
  root: string;
  /** What {@link selectFiles} returned (order is kept). */
  entries: readonly SelectedEntry[];
  format: ArchiveFormat;
  /** Deflate level 0–9; default 6 (GNU gzip's and zlib's default). */
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

function tarGzStream(root: string, entries: readonly SelectedEntry[], level: number): Readable {
  // node-tar reads names starting with `@` as archives to include; `./` keeps them plain.
  const names = entries.map((entry) => (entry.path.startsWith('@') ? `./${entry.path}` : entry.path));
  const tar = createTar({ cwd: root, portable: true, noDirRecurse: true, follow: false, jobs: 16 }, names);
  return parallelGzip(tar as unknown as Readable, level);
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
  const level = options.level ?? 6;
  switch (options.format) {
    case 'zip':
      return zipStream(root, options.entries, level);
    case 'tar.gz':
      return tarGzStream(root, options.entries, level);
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
