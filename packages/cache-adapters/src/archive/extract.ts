import { createReadStream, read as fsRead } from 'node:fs';
import { chmod, type FileHandle, link, lstat, mkdir, open, realpath, rm, symlink, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { Readable, Transform, type TransformOptions } from 'node:stream';
import { promisify } from 'node:util';
import {
  crc32,
  createGunzip,
  createInflateRaw,
  inflateRaw,
  inflateRawSync,
  type ZlibOptions,
  constants as zlibConstants,
} from 'node:zlib';
import yauzl from 'yauzl';
import { ArchiveError } from '../errors.js';
import { FileWriter } from './file-writer.js';
import { readTar } from './tar-reader.js';
import { createZstdDecompressStream, zstdDecompressBuffer } from './zstd.js';
import { Header } from 'tar';

const inflateRawAsync = promisify(inflateRaw);
const readAsync = promisify(fsRead);

export interface ExtractLimits {
  /** Most entries accepted (files, directories, links); default 1 000 000. */
  maxEntries?: number;
  /** Most bytes written in total (uncompressed); default 64 GiB. */
  maxBytes?: number;
}

export interface ExtractArchiveOptions extends ExtractLimits {
  /** The archive file (zip needs random access, so archives are extracted from files). */
  file: string;
  /** Directory to extract into (created if missing). Nothing is ever written outside it. */
  target: string;
  /** `auto` detects by magic bytes: zip or tar.gz. */
  format?: 'auto' | 'zip' | 'tar.gz' | 'tar.zst' | 'gzip';
}

export interface ExtractResult {
  format: 'zip' | 'tar.gz' | 'tar.zst' | 'gzip';
  entries: number;
  bytes: number;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;

/**
 * Detects the archive format from its first bytes. Both tar.gz and GitLab's gzip artifact format start with the
 * gzip magic: it is tar.gz when the first 512 inflated bytes are a valid tar header.
 */
export async function detectArchiveFormat(file: string): Promise<'zip' | 'tar.gz' | 'gzip' | 'tar.zst' | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'zip';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'tar.zst';
    if (bytesRead < 10 || head[0] !== 0x1f || head[1] !== 0x8b) return undefined;
    const member = parseGzipHeader(head.subarray(0, bytesRead));
    if (!member) return 'gzip';
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(head.subarray(member.headerLength, bytesRead), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
      });
    } catch {
      return 'gzip';
    }
    if (inflated.length < 512) return 'gzip';
    try {
      return new Header(inflated.subarray(0, 512)).cksumValid ? 'tar.gz' : 'gzip';
    } catch {
      // node-tar throws on undecodable number fields: a tar header that is corrupt, which the tar reader reports
      // as ARCHIVE_CORRUPT (a gzip artifact member would not look like a tar header at all).
      return 'tar.gz';
    }
  } finally {
    await handle.close();
  }
}

interface GzipMemberHeader {
  headerLength: number;
  name: string | undefined;
  comment: string | undefined;
  mtime: number;
}

/** Parses one gzip member header (RFC 1952); undefined when the bytes are too short to hold it. */
function parseGzipHeader(bytes: Buffer): GzipMemberHeader | undefined {
  if (bytes.length < 10) return undefined;
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8) {
    throw new ArchiveError('ARCHIVE_CORRUPT', 'gzip archive is corrupt: a member does not start with a gzip header');
  }
  const flags = bytes[3] as number;
  let at = 10;
  if (flags & 0x04) {
    if (bytes.length < at + 2) return undefined;
    at += 2 + bytes.readUInt16LE(at);
  }
  const text = (present: boolean): string | undefined | null => {
    if (!present) return undefined;
    const end = bytes.indexOf(0, at);
    if (end === -1) return null;
    const value = bytes.subarray(at, end).toString('latin1');
    at = end + 1;
    return value;
  };
  const name = text((flags & 0x08) !== 0);
  const comment = text((flags & 0x10) !== 0);
  if (name === null || comment === null) return undefined;
  if (flags & 0x02) at += 2;
  if (at > bytes.length) return undefined;
  return { headerLength: at, name, comment, mtime: bytes.readUInt32LE(4) };
}

/** GitLab's header text: `e:` + URL escaping when the original was not plain ASCII. */
function decodeGzipText(value: string): string {
  if (!value.startsWith('e:')) return value;
  try {
    return decodeURIComponent(value.slice(2));
  } catch (error) {
    throw new ArchiveError('ARCHIVE_CORRUPT', `gzip member name ${JSON.stringify(value)} is not valid URL escaping`, {
      cause: error,
    });
  }
}

/**
 * Validates archive names and link targets and keeps the running totals. Every path is checked lexically and,
 * before writing, against the real (symlink-resolved) location of its parent directory.
 */
class SafeTarget {
  entries = 0;
  bytes = 0;
  constructor(
    readonly root: string,
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  /** The archive name as a clean relative path, or a traversal error. */
  name(raw: string): string {
    const name = raw.replace(/\\/g, '/');
    if (name.includes('\0') || name.startsWith('/') || /^[a-zA-Z]:/.test(name)) {
      throw new ArchiveError('ARCHIVE_PATH_TRAVERSAL', `archive entry ${JSON.stringify(raw)} has an absolute path`, {
        entry: raw,
      });
    }
    const normalized = posix.normalize(name).replace(/\/+$/, '');
    if (normalized === '..' || normalized.startsWith('../') || name.split('/').includes('..')) {
      throw new ArchiveError(
        'ARCHIVE_PATH_TRAVERSAL',
        `archive entry ${JSON.stringify(raw)} leaves the target directory`,
        {
          entry: raw,
        },
      );
    }
    return normalized === '.' ? '' : normalized;
  }

  inside(path: string): boolean {
    const rel = relative(this.root, path);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  }

  count(entry: string, bytes = 0): void {
    this.entries++;
    if (this.entries > this.maxEntries) {
      throw new ArchiveError('ARCHIVE_LIMIT_EXCEEDED', `archive has more than ${this.maxEntries} entries`, { entry });
    }
    this.addBytes(entry, bytes);
  }

  addBytes(entry: string, bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.maxBytes) {
      throw new ArchiveError('ARCHIVE_LIMIT_EXCEEDED', `archive expands to more than ${this.maxBytes} bytes`, {
        entry,
      });
    }
  }

  /** A symlink at `name` pointing at `target` must resolve inside the root. */
  checkSymlink(name: string, target: string): void {
    const resolved = resolve(this.root, posix.dirname(name), target);
    if (target === '' || isAbsolute(target) || target.includes('\0') || !this.inside(resolved)) {
      throw new ArchiveError(
        'ARCHIVE_LINK_ESCAPE',
        `symlink ${JSON.stringify(name)} points outside the target: ${JSON.stringify(target)}`,
        {
          entry: name,
        },
      );
    }
  }

  /** A hard link's target is archive-relative and must name something inside the root. */
  checkHardLink(name: string, target: string): void {
    let clean: string;
    try {
      clean = this.name(target);
    } catch (error) {
      throw new ArchiveError(
        'ARCHIVE_LINK_ESCAPE',
        `hard link ${JSON.stringify(name)} points outside the target: ${JSON.stringify(target)}`,
        {
          entry: name,
          cause: error,
        },
      );
    }
    if (clean === '') {
      throw new ArchiveError('ARCHIVE_LINK_ESCAPE', `hard link ${JSON.stringify(name)} points at the target itself`, {
        entry: name,
      });
    }
  }

  /** Parent directories already created and proven inside, by lexical path → real path. */
  private readonly verified = new Map<string, string>();

  /** Forgets every verified directory: called whenever a directory or link is replaced or a symlink created. */
  forget(): void {
    this.verified.clear();
  }

  /** Creates the parent directories and proves their real location is inside the root. */
  async parent(name: string): Promise<string> {
    const destination = resolve(this.root, name);
    const parent = dirname(destination);
    const known = this.verified.get(parent);
    if (known !== undefined) return resolve(known, posix.basename(name));
    await mkdir(parent, { recursive: true });
    const real = await realpath(parent);
    if (this.inside(real)) this.verified.set(parent, real);
    if (!this.inside(real)) {
      throw new ArchiveError(
        'ARCHIVE_LINK_ESCAPE',
        `archive entry ${JSON.stringify(name)} would be written through a symlink out of the target`,
        {
          entry: name,
        },
      );
    }
    return resolve(real, posix.basename(name));
  }

  /** Creates (or keeps) a directory entry, replacing a non-directory in the way; restores its permission bits. */
  async directory(name: string, mode: number): Promise<void> {
    const destination = await this.parent(name);
    try {
      await mkdir(destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!(await lstat(destination)).isDirectory()) {
        this.forget();
        await unlink(destination);
        await mkdir(destination);
      }
    }
    if (mode) await chmod(destination, mode | 0o700);
  }

  /** Creates a symlink entry (checked first), replacing whatever is in the way. */
  async symlink(name: string, linkTarget: string): Promise<void> {
    this.checkSymlink(name, linkTarget);
    const destination = await this.parent(name);
    await this.clear(destination);
    this.forget();
    await symlink(linkTarget, destination);
  }

  /** Creates a hard link entry to an earlier entry (checked first), replacing whatever is in the way. */
  async hardLink(name: string, linkTarget: string): Promise<void> {
    this.checkHardLink(name, linkTarget);
    const source = await this.parent(this.name(linkTarget));
    const destination = await this.parent(name);
    await this.clear(destination);
    try {
      await link(source, destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new ArchiveError(
        'ARCHIVE_CORRUPT',
        `hard link ${JSON.stringify(name)} points at ${JSON.stringify(linkTarget)}, which the archive does not hold`,
        { entry: name, cause: error },
      );
    }
  }

  /** The error for a destination that became a directory or symlink again right after it was cleared. */
  replacedMeanwhile(destination: string): ArchiveError {
    const entry = relative(this.root, destination);
    return new ArchiveError(
      'ARCHIVE_LINK_ESCAPE',
      `${JSON.stringify(entry)} became a directory or symlink again while it was being extracted`,
      { entry },
    );
  }

  /** Removes a non-directory at the destination so that we never write through an existing link. */
  async clear(destination: string): Promise<void> {
    try {
      const info = await lstat(destination);
      if (info.isDirectory() || info.isSymbolicLink()) this.forget();
      if (info.isDirectory()) await rm(destination, { recursive: true });
      else await unlink(destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function zipError(error: unknown): ArchiveError {
  if (ArchiveError.isInstance(error)) return error as ArchiveError;
  const message = (error as Error).message ?? String(error);
  const truncated =
    /end of central directory record signature not found|unexpected EOF|premature|truncat|too short|end of file/i.test(
      message,
    );
  return new ArchiveError(
    truncated ? 'ARCHIVE_TRUNCATED' : 'ARCHIVE_CORRUPT',
    `zip archive is ${truncated ? 'truncated' : 'corrupt'}: ${message}`,
    {
      cause: error,
    },
  );
}

/** Zip compression method 93: Zstandard (GitLab Runner's zipzstd). */
const ZIP_METHOD_ZSTD = 93;

/** Entries up to this size (stored and inflated) are read in one piece and written synchronously. */
const WHOLE_ENTRY_LIMIT = 1024 * 1024;
/** Whole entries read and inflated ahead (on the thread pool) while earlier ones are written. */
const READ_AHEAD = 32;

/** Passes an entry's bytes on, checking its CRC-32 and, when given, its exact declared size (as they flow). */
function crcCheck(entry: string, expected: number, size?: number): Transform {
  let crc = 0;
  let length = 0;
  const wrongSize = () =>
    new ArchiveError('ARCHIVE_CORRUPT', `zip entry ${JSON.stringify(entry)} does not match its declared size`, {
      entry,
    });
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      length += chunk.length;
      if (size !== undefined && length > size) {
        callback(wrongSize());
        return;
      }
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      if (size !== undefined && length !== size) {
        callback(wrongSize());
        return;
      }
      callback(
        crc >>> 0 === expected >>> 0
          ? null
          : new ArchiveError('ARCHIVE_CORRUPT', `zip entry ${JSON.stringify(entry)} fails its CRC-32 check`, { entry }),
      );
    },
  });
}

const LOCAL_HEADER_SIZE = 30;

/** Reads an entry's stored bytes with one positional read (two if the local extra field is unusually long). */
async function readStoredBytes(archive: FileHandle, entry: yauzl.Entry, raw: string): Promise<Buffer> {
  const start = entry.relativeOffsetOfLocalHeader;
  const guess = LOCAL_HEADER_SIZE + entry.fileNameLength + entry.extraFieldLength + 64 + entry.compressedSize;
  let buffer = Buffer.allocUnsafe(guess);
  const { bytesRead } = await archive.read(buffer, 0, guess, start);
  const truncated = () =>
    new ArchiveError('ARCHIVE_TRUNCATED', `zip archive is truncated inside ${JSON.stringify(raw)}`, { entry: raw });
  if (bytesRead < LOCAL_HEADER_SIZE) throw truncated();
  if (buffer.readUInt32LE(0) !== 0x04034b50) {
    throw new ArchiveError('ARCHIVE_CORRUPT', `zip entry ${JSON.stringify(raw)} has no local file header`, {
      entry: raw,
    });
  }
  const dataStart = LOCAL_HEADER_SIZE + buffer.readUInt16LE(26) + buffer.readUInt16LE(28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > guess) {
    buffer = Buffer.allocUnsafe(entry.compressedSize);
    const again = await archive.read(buffer, 0, entry.compressedSize, start + dataStart);
    if (again.bytesRead < entry.compressedSize) throw truncated();
    return buffer;
  }
  if (bytesRead < dataEnd) throw truncated();
  return buffer.subarray(dataStart, dataEnd);
}

/** The entry's content, inflated (on the thread pool) and checked against its declared size and CRC-32. */
async function readWholeEntry(archive: FileHandle, entry: yauzl.Entry, raw: string): Promise<Buffer> {
  const stored = await readStoredBytes(archive, entry, raw);
  let data: Buffer;
  if (entry.compressionMethod === 0) {
    data = stored;
  } else if (entry.compressionMethod === ZIP_METHOD_ZSTD) {
    // Never more than the declared size (+1 to notice a longer entry), whatever the frame header claims.
    data = await zstdDecompressBuffer(stored, entry.uncompressedSize + 1);
  } else {
    try {
      data = await inflateRawAsync(stored, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (error) {
      throw new ArchiveError('ARCHIVE_CORRUPT', `zip entry ${JSON.stringify(raw)} does not inflate`, {
        entry: raw,
        cause: error,
      });
    }
  }
  if (data.length !== entry.uncompressedSize || crc32(data) >>> 0 !== entry.crc32 >>> 0) {
    throw new ArchiveError(
      'ARCHIVE_CORRUPT',
      `zip entry ${JSON.stringify(raw)} does not match its declared size and CRC-32`,
      { entry: raw },
    );
  }
  return data;
}

/** Writes a whole file; a directory or symlink in the way is removed first (forgetting the verified parents). */
async function placeWhole(
  target: SafeTarget,
  writer: FileWriter,
  destination: string,
  data: Buffer,
  mode: number,
  mtime: Date,
): Promise<void> {
  if (writer.writeNow(destination, data, mode, mtime)) return;
  await target.clear(destination);
  if (!writer.writeNow(destination, data, mode, mtime)) throw target.replacedMeanwhile(destination);
}

/** Streams a file; a directory or symlink in the way is removed first (forgetting the verified parents). */
async function placeStream(
  target: SafeTarget,
  writer: FileWriter,
  destination: string,
  data: () => Readable,
  mode: number,
  mtime: Date,
): Promise<void> {
  if (await writer.writeStream(destination, data, mode, mtime)) return;
  await target.clear(destination);
  if (!(await writer.writeStream(destination, data, mode, mtime))) throw target.replacedMeanwhile(destination);
}

interface PendingFile {
  destination: string;
  mode: number;
  mtime: Date;
  data: Promise<Buffer>;
}

/** Writes a file, first removing a directory or symlink in the way (which forgets the verified parents). */
async function writeWhole(target: SafeTarget, writer: FileWriter, file: PendingFile): Promise<void> {
  await placeWhole(target, writer, file.destination, await file.data, file.mode, file.mtime);
  await writer.yield();
}

/** Central directory reads served from 256 KiB blocks (yauzl reads each record with two small reads). */
const READ_BLOCK = 256 * 1024;

class BlockReader extends yauzl.RandomAccessReader {
  private block: { start: number; data: Buffer } | undefined;
  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // Positional reads on the shared descriptor (an fs stream would close it when destroyed).
    const fd = this.fd;
    async function* pieces(): AsyncGenerator<Buffer> {
      let at = start;
      while (at < end) {
        const piece = Buffer.allocUnsafe(Math.min(1024 * 1024, end - at));
        const { bytesRead } = await readAsync(fd, piece, 0, piece.length, at);
        if (bytesRead === 0) throw new Error('unexpected EOF');
        at += bytesRead;
        yield piece.subarray(0, bytesRead);
      }
    }
    return Readable.from(pieces(), { objectMode: false });
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null) => void,
  ): void {
    const serve = () => {
      const block = this.block as { start: number; data: Buffer };
      block.data.copy(buffer, offset, position - block.start, position - block.start + length);
      callback(null);
    };
    const cached = this.block;
    if (cached && position >= cached.start && position + length <= cached.start + cached.data.length) {
      serve();
      return;
    }
    if (length > READ_BLOCK) {
      fsRead(this.fd, buffer, offset, length, position, (error, bytesRead) =>
        callback(error ?? (bytesRead < length ? new Error('unexpected EOF') : null)),
      );
      return;
    }
    const data = Buffer.allocUnsafe(Math.min(READ_BLOCK, Math.max(length, this.size - position)));
    fsRead(this.fd, data, 0, data.length, position, (error, bytesRead) => {
      if (error) return callback(error);
      if (bytesRead < length) return callback(new Error('unexpected EOF'));
      this.block = { start: position, data: data.subarray(0, bytesRead) };
      serve();
    });
  }
}

async function extractZip(file: string, target: SafeTarget): Promise<void> {
  const archive = await open(file, 'r');
  const { size } = await archive.stat();
  const zip = await yauzl
    .fromRandomAccessReaderPromise(new BlockReader(archive.fd, size), size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    })
    .catch(async (error: unknown) => {
      await archive.close();
      throw zipError(error);
    });
  const writer = new FileWriter();
  // Entries are written in archive order; the next READ_AHEAD small ones are read and inflated meanwhile.
  const pending: PendingFile[] = [];
  const flush = async (keep = 0) => {
    while (pending.length > keep) await writeWhole(target, writer, pending.shift() as PendingFile);
  };
  try {
    for await (const entry of zip.eachEntry()) {
      const utf8 = (entry.generalPurposeBitFlag & 0x800) !== 0;
      const raw = (entry.fileName as unknown as Buffer).toString(utf8 ? 'utf8' : 'latin1');
      const name = target.name(raw);
      const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const kind = unixMode & 0o170000;
      const isDirectory = raw.endsWith('/') || kind === 0o040000;
      target.count(raw);
      if (name === '') continue;
      if (isDirectory) {
        await flush();
        await target.directory(name, unixMode & 0o777);
        continue;
      }
      const method = entry.compressionMethod;
      if (entry.isEncrypted() || (method !== 0 && method !== 8 && method !== ZIP_METHOD_ZSTD)) {
        throw new ArchiveError(
          'ARCHIVE_CORRUPT',
          `zip entry ${JSON.stringify(raw)} is encrypted or uses compression method ${entry.compressionMethod}`,
          { entry: raw },
        );
      }
      // Declared sizes count before anything is written; yauzl and our CRC check hold entries to them.
      target.addBytes(raw, entry.uncompressedSize);
      if (kind === 0o120000) {
        if (entry.uncompressedSize > 4096)
          throw new ArchiveError('ARCHIVE_CORRUPT', `symlink ${JSON.stringify(raw)} target too long`, { entry: raw });
        const linkTarget = (await readWholeEntry(archive, entry, raw)).toString('utf8');
        await flush();
        await target.symlink(name, linkTarget);
        continue;
      }
      const destination = await target.parent(name);
      const mode = unixMode & 0o777;
      const mtime = entry.getLastModDate();
      if (entry.compressedSize <= WHOLE_ENTRY_LIMIT && entry.uncompressedSize <= WHOLE_ENTRY_LIMIT) {
        const data = readWholeEntry(archive, entry, raw);
        data.catch(() => undefined); // awaited in order by flush(); a failure surfaces there
        pending.push({ destination, mode, mtime, data });
        await flush(READ_AHEAD);
        continue;
      }
      await flush();
      const zstd = method === ZIP_METHOD_ZSTD;
      // yauzl inflates deflate itself (and holds it to the declared size); zstd entries come raw and are
      // decompressed here, held to the declared size as they flow.
      const stream = await zip.openReadStreamPromise(entry, zstd ? { decodeFileData: false } : undefined);
      const decompress = zstd ? await createZstdDecompressStream() : undefined;
      const read = () => {
        const check = crcCheck(raw, entry.crc32, zstd ? entry.uncompressedSize : undefined);
        if (!decompress) return stream.pipe(check);
        stream.on('error', (error) => decompress.destroy(error));
        decompress.on('error', (error) => check.destroy(error));
        return stream.pipe(decompress).pipe(check);
      };
      try {
        await placeStream(target, writer, destination, read, mode, mtime);
      } finally {
        stream.destroy();
        decompress?.destroy();
      }
    }
    await flush();
  } catch (error) {
    throw zipError(error);
  } finally {
    zip.close();
    await archive.close();
  }
}

/** Compressed bytes read per system call for tar.gz. */
const TAR_INPUT_CHUNK = 1024 * 1024;
/** Inflated bytes produced per thread-pool round trip. */
const TAR_INFLATE_CHUNK = 256 * 1024;
/** Inflated bytes buffered ahead of the tar reader. */
const TAR_READ_AHEAD = 8 * 1024 * 1024;

async function extractTar(file: string, target: SafeTarget, kind: 'tar.gz' | 'tar.zst'): Promise<void> {
  const writer = new FileWriter();
  // Large reads and inflate chunks with a deep readable buffer: inflating runs on the thread pool well ahead of the
  // synchronous file writes (one round trip per 256 KiB instead of per 16 KiB, up to TAR_READ_AHEAD buffered).
  const source = createReadStream(file, { highWaterMark: TAR_INPUT_CHUNK });
  // zlib streams pass Transform options through; @types/node's ZlibOptions just does not list them.
  const inflateOptions: ZlibOptions & TransformOptions = {
    chunkSize: TAR_INFLATE_CHUNK,
    readableHighWaterMark: TAR_READ_AHEAD,
  };
  const decompressed: Transform = kind === 'tar.gz' ? createGunzip(inflateOptions) : await createZstdDecompressStream();
  source.on('error', (error) => decompressed.destroy(error));
  source.pipe(decompressed);
  try {
    for await (const entry of readTar(decompressed)) {
      const name = target.name(entry.path);
      const isFile = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
      target.count(entry.path, isFile ? entry.size : 0);
      if (name === '') continue;
      const mode = entry.mode & 0o777;
      if (entry.type === 'Directory' || entry.type === 'GNUDumpDir') {
        await target.directory(name, mode);
      } else if (entry.type === 'SymbolicLink') {
        await target.symlink(name, entry.linkpath);
      } else if (entry.type === 'Link') {
        await target.hardLink(name, entry.linkpath);
      } else if (isFile) {
        const destination = await target.parent(name);
        const mtime = entry.mtime ?? new Date();
        if (entry.size <= WHOLE_ENTRY_LIMIT) {
          const data = await entry.read();
          await placeWhole(target, writer, destination, data, mode, mtime);
          await writer.yield();
        } else {
          const read = () => Readable.from(entry.stream(), { objectMode: false });
          await placeStream(target, writer, destination, read, mode, mtime);
        }
      }
      // Devices, FIFOs and other special entries are skipped.
    }
  } catch (error) {
    if (ArchiveError.isInstance(error)) throw error;
    const message = (error as Error).message ?? String(error);
    const code = (error as { code?: string }).code;
    const truncated = code === 'Z_BUF_ERROR' || /unexpected end of file|truncated/i.test(message);
    if (!truncated && !code?.startsWith('Z_')) throw error;
    throw new ArchiveError(
      truncated ? 'ARCHIVE_TRUNCATED' : 'ARCHIVE_CORRUPT',
      `${kind} archive is ${truncated ? 'truncated' : 'corrupt'}: ${message}`,
      { cause: error },
    );
  } finally {
    source.destroy();
    decompressed.destroy();
  }
}

/**
 * Extracts GitLab's gzip artifact format: concatenated gzip members, one per file, each named by its header comment
 * (the relative path; the base name in the name field when there is no comment).
 */
async function extractGzip(file: string, target: SafeTarget): Promise<void> {
  const archive = await open(file, 'r');
  const writer = new FileWriter();
  try {
    const { size } = await archive.stat();
    let position = 0;
    while (position < size) {
      const head = Buffer.allocUnsafe(Math.min(64 * 1024, size - position));
      const { bytesRead } = await archive.read(head, 0, head.length, position);
      const member = parseGzipHeader(head.subarray(0, bytesRead));
      if (!member) {
        throw new ArchiveError('ARCHIVE_TRUNCATED', 'gzip archive is truncated inside a member header');
      }
      const raw = decodeGzipText(member.comment || member.name || '');
      if (raw === '') {
        throw new ArchiveError('ARCHIVE_CORRUPT', 'gzip archive is corrupt: a member has neither name nor comment');
      }
      const name = target.name(raw);
      target.count(raw);
      if (name === '') {
        throw new ArchiveError('ARCHIVE_CORRUPT', `gzip member ${JSON.stringify(raw)} names the target itself`, {
          entry: raw,
        });
      }
      const destination = await target.parent(name);
      const start = position + member.headerLength;
      const inflate = createInflateRaw();
      let crc = 0;
      let length = 0;
      let inflated = false;
      inflate.on('end', () => {
        inflated = true;
      });
      // The member's compressed bytes run to the end of its deflate stream, which only inflating reveals: read
      // ahead in 256 KiB pieces until the inflater reports the end (it ignores what follows).
      async function* compressed(): AsyncGenerator<Buffer> {
        let at = start;
        while (!inflated && at < size) {
          const piece = Buffer.allocUnsafe(Math.min(256 * 1024, size - at));
          const { bytesRead } = await archive.read(piece, 0, piece.length, at);
          if (bytesRead === 0) return;
          at += bytesRead;
          yield piece.subarray(0, bytesRead);
        }
      }
      const read = () => {
        const source = Readable.from(compressed(), { objectMode: false });
        source.on('error', (error) => inflate.destroy(error));
        const count = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            try {
              target.addBytes(raw, chunk.length);
              crc = crc32(chunk, crc);
              length += chunk.length;
              callback(null, chunk);
            } catch (error) {
              callback(error as Error);
            }
          },
        });
        inflate.on('error', (error) => count.destroy(error));
        return source.pipe(inflate).pipe(count);
      };
      const mtime = member.mtime > 0 ? new Date(member.mtime * 1000) : new Date();
      await placeStream(target, writer, destination, read, 0, mtime);
      const trailerAt = start + inflate.bytesWritten;
      const trailer = Buffer.alloc(8);
      const got = await archive.read(trailer, 0, 8, trailerAt);
      if (got.bytesRead < 8) throw new ArchiveError('ARCHIVE_TRUNCATED', `gzip archive is truncated after ${raw}`);
      if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== length >>> 0) {
        throw new ArchiveError('ARCHIVE_CORRUPT', `gzip member ${JSON.stringify(raw)} fails its CRC-32 or size check`, {
          entry: raw,
        });
      }
      position = trailerAt + 8;
    }
  } catch (error) {
    if (ArchiveError.isInstance(error)) throw error;
    const message = (error as Error).message ?? String(error);
    const code = (error as { code?: string }).code;
    const truncated = code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(message);
    if (!truncated && !code?.startsWith('Z_')) throw error;
    throw new ArchiveError(
      truncated ? 'ARCHIVE_TRUNCATED' : 'ARCHIVE_CORRUPT',
      `gzip archive is ${truncated ? 'truncated' : 'corrupt'}: ${message}`,
      { cause: error },
    );
  } finally {
    await archive.close();
  }
}

/**
 * Extracts a zip (deflate or zstd entries), tar.gz, tar.zst or gzip (artifact) archive into `target`, refusing (with an {@link ArchiveError}) absolute names, `..`,
 * symlinks and hard links that point out, writes through symlinks, more entries or bytes than the limits, and
 * truncated or corrupt archives. File modes (permission bits) and symlinks are restored.
 */
export async function extractArchive(options: ExtractArchiveOptions): Promise<ExtractResult> {
  await mkdir(options.target, { recursive: true });
  const root = await realpath(options.target);
  const target = new SafeTarget(root, options.maxEntries ?? DEFAULT_MAX_ENTRIES, options.maxBytes ?? DEFAULT_MAX_BYTES);
  const detected =
    options.format === undefined || options.format === 'auto'
      ? await detectArchiveFormat(options.file)
      : options.format;
  if (detected === 'zip') await extractZip(options.file, target);
  else if (detected === 'tar.gz' || detected === 'tar.zst') await extractTar(options.file, target, detected);
  else if (detected === 'gzip') await extractGzip(options.file, target);
  else {
    throw new ArchiveError('ARCHIVE_FORMAT_UNKNOWN', 'not a zip, tar.gz, tar.zst or gzip archive');
  }
  return { format: detected, entries: target.entries, bytes: target.bytes };
}
