import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, open, realpath, rm, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Unpack } from 'tar';
import yauzl from 'yauzl';
import { ArchiveError } from '../errors.js';

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
  format?: 'auto' | 'zip' | 'tar.gz';
}

export interface ExtractResult {
  format: 'zip' | 'tar.gz';
  entries: number;
  bytes: number;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;

/** Detects the archive format from its first bytes. */
export async function detectArchiveFormat(file: string): Promise<'zip' | 'tar.gz' | 'tar.zst' | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'zip';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'tar.zst';
    return undefined;
  } finally {
    await handle.close();
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

function limitStream(target: SafeTarget, entry: string): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        target.addBytes(entry, chunk.length);
        callback(null, chunk);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
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

async function extractZip(file: string, target: SafeTarget): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolvePromise, reject) => {
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true },
      (error, opened) => (error ? reject(zipError(error)) : resolvePromise(opened)),
    );
  });
  const readStream = (entry: yauzl.Entry) =>
    new Promise<Readable>((resolvePromise, reject) =>
      zip.openReadStream(entry, (error, stream) => (error ? reject(zipError(error)) : resolvePromise(stream))),
    );
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const handle = async (entry: yauzl.Entry) => {
        const utf8 = (entry.generalPurposeBitFlag & 0x800) !== 0;
        const raw = (entry.fileName as unknown as Buffer).toString(utf8 ? 'utf8' : 'latin1');
        const name = target.name(raw);
        const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
        const kind = unixMode & 0o170000;
        const isDirectory = raw.endsWith('/') || kind === 0o040000;
        const mtime = entry.getLastModDate();
        target.count(raw);
        if (name === '') return;
        if (isDirectory) {
          const destination = await target.parent(name);
          try {
            const info = await lstat(destination);
            if (!info.isDirectory()) {
              target.forget();
              await unlink(destination);
            }
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          }
          await mkdir(destination, { recursive: true });
          if (unixMode & 0o777) await chmod(destination, (unixMode & 0o777) | 0o700);
          return;
        }
        if (kind === 0o120000) {
          if (entry.uncompressedSize > 4096)
            throw new ArchiveError('ARCHIVE_CORRUPT', `symlink ${JSON.stringify(raw)} target too long`, { entry: raw });
          const chunks: Buffer[] = [];
          for await (const chunk of await readStream(entry)) chunks.push(chunk as Buffer);
          const linkTarget = Buffer.concat(chunks).toString('utf8');
          target.checkSymlink(name, linkTarget);
          const destination = await target.parent(name);
          await target.clear(destination);
          target.forget();
          await symlink(linkTarget, destination);
          return;
        }
        const destination = await target.parent(name);
        await target.clear(destination);
        await pipeline(
          await readStream(entry),
          limitStream(target, raw),
          createWriteStream(destination, { flags: 'wx' }),
        );
        if (unixMode & 0o777) await chmod(destination, unixMode & 0o777);
        await utimes(destination, mtime, mtime);
      };
      zip.on('entry', (entry: yauzl.Entry) => {
        handle(entry).then(
          () => zip.readEntry(),
          (error: unknown) => {
            zip.close();
            reject(zipError(error));
          },
        );
      });
      zip.on('end', () => resolvePromise());
      zip.on('error', (error: unknown) => reject(zipError(error)));
      zip.readEntry();
    });
  } finally {
    if (zip.isOpen) zip.close();
  }
}

interface TarEntryLike {
  path: string;
  type: string;
  size: number;
  linkpath?: string;
}

async function extractTarGz(file: string, target: SafeTarget): Promise<void> {
  let violation: ArchiveError | undefined;
  const unpack = new Unpack({
    cwd: target.root,
    strict: true,
    preserveOwner: false,
    // Our checks run first: an entry that fails them is never handed to the writer.
    filter: (path: string, entry: unknown) => {
      if (violation) return false;
      const tarEntry = entry as TarEntryLike;
      try {
        const name = target.name(path);
        target.count(path, tarEntry.type === 'File' || tarEntry.type === 'OldFile' ? tarEntry.size : 0);
        if (tarEntry.type === 'SymbolicLink') target.checkSymlink(name, tarEntry.linkpath ?? '');
        else if (tarEntry.type === 'Link') target.checkHardLink(name, tarEntry.linkpath ?? '');
        else if (!['File', 'OldFile', 'ContiguousFile', 'Directory', 'GNUDumpDir'].includes(tarEntry.type))
          return false;
        return name !== '';
      } catch (error) {
        violation = error as ArchiveError;
        unpack.abort(violation);
        return false;
      }
    },
  });
  try {
    await pipeline(createReadStream(file), createGunzip(), unpack as unknown as NodeJS.WritableStream);
  } catch (error) {
    if (violation) throw violation;
    const message = (error as Error).message ?? String(error);
    const code = (error as { code?: string }).code;
    if (code === 'TAR_SYMLINK_ERROR') {
      throw new ArchiveError('ARCHIVE_LINK_ESCAPE', `tar.gz entry would be written through a symlink: ${message}`, {
        cause: error,
      });
    }
    const truncated = code === 'Z_BUF_ERROR' || /unexpected end of file|truncated/i.test(message);
    throw new ArchiveError(
      truncated ? 'ARCHIVE_TRUNCATED' : 'ARCHIVE_CORRUPT',
      `tar.gz archive is ${truncated ? 'truncated' : 'corrupt'}: ${message}`,
      { cause: error },
    );
  }
  if (violation) throw violation;
}

/**
 * Extracts a zip or tar.gz archive into `target`, refusing (with an {@link ArchiveError}) absolute names, `..`,
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
  else if (detected === 'tar.gz') await extractTarGz(options.file, target);
  else {
    throw new ArchiveError(
      'ARCHIVE_FORMAT_UNKNOWN',
      detected === 'tar.zst' ? 'tar.zst archives are not supported (no zstd binding)' : 'not a zip or tar.gz archive',
    );
  }
  return { format: detected, entries: target.entries, bytes: target.bytes };
}
