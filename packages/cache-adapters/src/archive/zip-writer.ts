import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { crc32, createDeflateRaw, deflateRaw } from 'node:zlib';
import type { SelectedEntry } from './select.js';
import { createZstdCompressStream, zstdCompressBuffer } from './zstd.js';

// Why not yazl: its buffered entries keep their compressed bytes until the archive ends, so compressing several
// files at once would hold the whole archive in memory; its streamed entries compress one file at a time, and it
// scans its entry list on every step (quadratic in the entry count). This writer compresses up to READ_AHEAD
// files at once on libuv's thread pool and keeps only those in memory, then writes them in order.

const deflateRawAsync = promisify(deflateRaw);

/** Files read and compressed ahead of the one being written. */
const READ_AHEAD = 32;
/** Most uncompressed bytes held by the files read ahead. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;
/** Files up to this size are read and compressed in one piece; larger ones are streamed. */
const WHOLE_FILE_LIMIT = 4 * 1024 * 1024;
/** Above this size a streamed file gets zip64 sizes (its compressed size may exceed the uncompressed one). */
const ZIP64_STREAM_THRESHOLD = 0xffffffff - 64 * 1024 * 1024;

const VERSION_MADE_BY = (3 << 8) | 63; // Unix, spec 6.3
const VERSION_UTF8 = 20;
const VERSION_ZIP64 = 45;
/** APPNOTE 6.3.7 lists method 93 (zstd) with version 6.3. */
const VERSION_ZSTD = 63;
const METHOD_ZSTD = 93;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;

interface Prepared {
  name: Buffer;
  mode: number;
  mtime: Date;
  /** Compressed (or stored) bytes, with their crc and sizes; absent for a streamed file. */
  data?: Buffer;
  crc: number;
  size: number;
  method: Method;
  /** A file too large to hold: streamed from this path when its turn comes. */
  stream?: string;
  /** Size from lstat, for the zip64 decision of a streamed file. */
  declared: number;
}

/** How file data is compressed: deflate (method 8, GitLab's zip) or zstd (method 93, GitLab's zipzstd). */
export type ZipCompression = 'deflate' | 'zstd';

type Method = 0 | 8 | 93;

interface Written {
  name: Buffer;
  mode: number;
  dos: { date: number; time: number };
  unixTime: number;
  crc: number;
  compressedSize: number;
  size: number;
  method: Method;
  flags: number;
  offset: number;
  directory: boolean;
}

function dosDateTime(date: Date): { date: number; time: number } {
  const year = date.getFullYear();
  if (year < 1980) return { date: (1 << 5) | 1, time: 0 };
  return {
    date: ((Math.min(year, 2107) - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
  };
}

/** Info-ZIP "universal timestamp" (0x5455): modification time in UTC seconds. */
function timestampField(unixTime: number): Buffer {
  const field = Buffer.alloc(9);
  field.writeUInt16LE(0x5455, 0);
  field.writeUInt16LE(5, 2);
  field[4] = 1;
  field.writeInt32LE(Math.max(-0x80000000, Math.min(0x7fffffff, unixTime)), 5);
  return field;
}

async function readWhole(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** The version needed to extract an entry: zstd needs 6.3, zip64 sizes 4.5, UTF-8 names 2.0. */
function versionNeeded(method: Method, zip64: boolean): number {
  if (method === METHOD_ZSTD) return VERSION_ZSTD;
  return zip64 ? VERSION_ZIP64 : VERSION_UTF8;
}

async function compressWhole(data: Buffer, level: number, compression: ZipCompression): Promise<Buffer> {
  // zstd runs on this thread (the binding has no asynchronous one-shot call); files here are at most 4 MiB.
  return compression === 'zstd' ? zstdCompressBuffer(data, level) : deflateRawAsync(data, { level });
}

async function prepare(
  root: string,
  entry: SelectedEntry,
  level: number,
  compression: ZipCompression,
): Promise<Prepared> {
  const method: Method = compression === 'zstd' ? METHOD_ZSTD : 8;
  const full = join(root, entry.path);
  const info = await lstat(full);
  const base = { mode: info.mode, mtime: info.mtime, declared: info.size };
  if (entry.type === 'directory') {
    const name = Buffer.from(`${entry.path}/`);
    return { ...base, name, data: Buffer.alloc(0), crc: 0, size: 0, method: 0 };
  }
  const name = Buffer.from(entry.path);
  if (entry.type === 'symlink' || info.isSymbolicLink()) {
    // A symlink is stored as its target text with the link's mode, as zip tools and GitLab do.
    const data = Buffer.from(await readlink(full));
    return { ...base, name, data, crc: crc32(data) >>> 0, size: data.length, method: 0 };
  }
  if (info.size > WHOLE_FILE_LIMIT) return { ...base, name, crc: 0, size: 0, method, stream: full };
  const data = await readWhole(full, info.size);
  const crc = crc32(data) >>> 0;
  if (level <= 0 || data.length === 0) return { ...base, name, data, crc, size: data.length, method: 0 };
  const compressed = await compressWhole(data, level, compression);
  // Incompressible content is stored rather than grown.
  if (compressed.length >= data.length) return { ...base, name, data, crc, size: data.length, method: 0 };
  return { ...base, name, data: compressed, crc, size: data.length, method };
}

function localHeader(
  entry: Written,
  extra: Buffer,
  sizes: { compressed: number; size: number; crc: number },
  version: number,
): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(version, 4);
  header.writeUInt16LE(entry.flags, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(entry.dos.time, 10);
  header.writeUInt16LE(entry.dos.date, 12);
  header.writeUInt32LE(sizes.crc, 14);
  header.writeUInt32LE(sizes.compressed, 18);
  header.writeUInt32LE(sizes.size, 22);
  header.writeUInt16LE(entry.name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, entry.name, extra]);
}

function centralRecord(entry: Written): Buffer {
  const zip64: Buffer[] = [];
  const size = Math.min(entry.size, MAX32);
  const compressed = Math.min(entry.compressedSize, MAX32);
  const offset = Math.min(entry.offset, MAX32);
  for (const [value, marker] of [
    [entry.size, size],
    [entry.compressedSize, compressed],
    [entry.offset, offset],
  ] as const) {
    if (marker !== MAX32) continue;
    const field = Buffer.alloc(8);
    field.writeBigUInt64LE(BigInt(value));
    zip64.push(field);
  }
  const extras = [timestampField(entry.unixTime)];
  if (zip64.length > 0) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(0x0001, 0);
    head.writeUInt16LE(zip64.length * 8, 2);
    extras.push(head, ...zip64);
  }
  const extra = Buffer.concat(extras);
  const record = Buffer.alloc(46);
  record.writeUInt32LE(0x02014b50, 0);
  record.writeUInt16LE(VERSION_MADE_BY, 4);
  record.writeUInt16LE(versionNeeded(entry.method, zip64.length > 0), 6);
  record.writeUInt16LE(entry.flags, 8);
  record.writeUInt16LE(entry.method, 10);
  record.writeUInt16LE(entry.dos.time, 12);
  record.writeUInt16LE(entry.dos.date, 14);
  record.writeUInt32LE(entry.crc, 16);
  record.writeUInt32LE(compressed, 20);
  record.writeUInt32LE(size, 24);
  record.writeUInt16LE(entry.name.length, 28);
  record.writeUInt16LE(extra.length, 30);
  // comment length, disk number start, internal attributes: 0
  record.writeUInt32LE((((entry.mode & 0xffff) << 16) | (entry.directory ? 0x10 : 0)) >>> 0, 38);
  record.writeUInt32LE(offset, 42);
  return Buffer.concat([record, entry.name, extra]);
}

function endOfCentralDirectory(count: number, start: number, size: number): Buffer {
  const parts: Buffer[] = [];
  const zip64 = count >= MAX16 || start >= MAX32 || size >= MAX32;
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(VERSION_MADE_BY, 12);
    record.writeUInt16LE(VERSION_ZIP64, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(size), 40);
    record.writeBigUInt64LE(BigInt(start), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(start + size), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, MAX16), 8);
  end.writeUInt16LE(Math.min(count, MAX16), 10);
  end.writeUInt32LE(Math.min(size, MAX32), 12);
  end.writeUInt32LE(Math.min(start, MAX32), 16);
  parts.push(end);
  return Buffer.concat(parts);
}

async function* streamedFile(
  prepared: Prepared,
  level: number,
  compression: ZipCompression,
): AsyncGenerator<Buffer, { crc: number; size: number; compressedSize: number }> {
  let crc = 0;
  let size = 0;
  let compressedSize = 0;
  const deflate =
    compression === 'zstd'
      ? // A large file is not stored even at level 0 (that would need it whole in memory); zstd's fastest level is used.
        await createZstdCompressStream(Math.max(1, level), { workers: 1 })
      : createDeflateRaw({ level });
  // The stream owns (and closes) the handle.
  const handle = await open(prepared.stream as string, constants.O_RDONLY | constants.O_NOFOLLOW);
  const source = handle.createReadStream({ highWaterMark: 1024 * 1024 });
  try {
    source.on('data', (chunk) => {
      crc = crc32(chunk as Buffer, crc);
      size += (chunk as Buffer).length;
    });
    source.on('error', (error) => deflate.destroy(error));
    source.pipe(deflate);
    for await (const chunk of deflate) {
      compressedSize += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } finally {
    source.destroy();
  }
  return { crc: crc >>> 0, size, compressedSize };
}

async function* zipRecords(
  root: string,
  entries: readonly SelectedEntry[],
  level: number,
  compression: ZipCompression,
): AsyncGenerator<Buffer> {
  const central: Written[] = [];
  const queue: { promise: Promise<Prepared>; bytes: number }[] = [];
  let queuedBytes = 0;
  let next = 0;
  let offset = 0;
  const fill = () => {
    while (next < entries.length && queue.length < READ_AHEAD && queuedBytes < READ_AHEAD_BYTES) {
      const promise = prepare(root, entries[next] as SelectedEntry, level, compression);
      promise.catch(() => undefined); // awaited in order below; a failure surfaces there
      // The size is not known before lstat; count an average file against the budget until then.
      const item = { promise, bytes: 64 * 1024 };
      queue.push(item);
      queuedBytes += item.bytes;
      next++;
      promise.then(
        (prepared) => {
          queuedBytes += Math.min(prepared.declared, WHOLE_FILE_LIMIT) - item.bytes;
          item.bytes = Math.min(prepared.declared, WHOLE_FILE_LIMIT);
        },
        () => undefined,
      );
    }
  };
  fill();
  while (queue.length > 0) {
    const item = queue.shift() as { promise: Promise<Prepared>; bytes: number };
    const prepared = await item.promise;
    queuedBytes -= item.bytes;
    fill();
    const directory = prepared.name[prepared.name.length - 1] === 0x2f;
    const written: Written = {
      name: prepared.name,
      mode: prepared.mode,
      dos: dosDateTime(prepared.mtime),
      unixTime: Math.floor(prepared.mtime.getTime() / 1000),
      crc: prepared.crc,
      compressedSize: prepared.data?.length ?? 0,
      size: prepared.size,
      method: prepared.method,
      flags: FLAG_UTF8,
      offset,
      directory,
    };
    if (prepared.data) {
      const header = localHeader(
        written,
        timestampField(written.unixTime),
        {
          compressed: written.compressedSize,
          size: written.size,
          crc: written.crc,
        },
        versionNeeded(written.method, false),
      );
      offset += header.length + prepared.data.length;
      yield header;
      if (prepared.data.length > 0) yield prepared.data;
    } else {
      written.flags |= FLAG_DATA_DESCRIPTOR;
      const large = prepared.declared >= ZIP64_STREAM_THRESHOLD;
      const extras = [timestampField(written.unixTime)];
      if (large) {
        const zip64 = Buffer.alloc(20);
        zip64.writeUInt16LE(0x0001, 0);
        zip64.writeUInt16LE(16, 2);
        extras.push(zip64);
      }
      const header = localHeader(
        written,
        Buffer.concat(extras),
        large ? { compressed: MAX32, size: MAX32, crc: 0 } : { compressed: 0, size: 0, crc: 0 },
        versionNeeded(written.method, large),
      );
      offset += header.length;
      yield header;
      const body = streamedFile(prepared, level, compression);
      let step = await body.next();
      while (!step.done) {
        yield step.value;
        step = await body.next();
      }
      const result = step.value;
      written.crc = result.crc;
      written.size = result.size;
      written.compressedSize = result.compressedSize;
      offset += result.compressedSize;
      let descriptor: Buffer;
      if (large) {
        descriptor = Buffer.alloc(24);
        descriptor.writeBigUInt64LE(BigInt(result.compressedSize), 8);
        descriptor.writeBigUInt64LE(BigInt(result.size), 16);
      } else {
        if (result.size >= MAX32 || result.compressedSize >= MAX32) {
          throw new Error(`${prepared.stream} grew past 4 GiB while it was archived`);
        }
        descriptor = Buffer.alloc(16);
        descriptor.writeUInt32LE(result.compressedSize, 8);
        descriptor.writeUInt32LE(result.size, 12);
      }
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(result.crc, 4);
      offset += descriptor.length;
      yield descriptor;
    }
    central.push(written);
  }
  const start = offset;
  let size = 0;
  const batch: Buffer[] = [];
  for (const entry of central) {
    const record = centralRecord(entry);
    size += record.length;
    batch.push(record);
    if (batch.length >= 256) yield Buffer.concat(batch.splice(0));
  }
  if (batch.length > 0) yield Buffer.concat(batch);
  yield endOfCentralDirectory(central.length, start, size);
}

/**
 * A zip of the entries (deflate or zstd at `level`, Unix modes, UTF-8 names, Info-ZIP timestamps, zip64 when
 * needed). Level 0 (or below) stores every file; symlinks, directories and incompressible files are always stored.
 */
export function zipStream(
  root: string,
  entries: readonly SelectedEntry[],
  level: number,
  compression: ZipCompression = 'deflate',
): Readable {
  return Readable.from(zipRecords(root, entries, level, compression), {
    objectMode: false,
    highWaterMark: 1024 * 1024,
  });
}
