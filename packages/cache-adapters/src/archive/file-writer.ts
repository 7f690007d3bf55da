import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  futimesSync,
  lstatSync,
  openSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, lstat, open, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';

const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** Longest run of synchronous writes before {@link FileWriter.yield} gives the event loop a turn. */
const SYNC_SLICE_MS = 8;

/**
 * Creates extracted files: always with O_EXCL (so never through an existing link), replacing a regular file that
 * is in the way, restoring the archived permission bits and modification time.
 *
 * Small files are written with synchronous calls — open, write, futimes, close, the same few system calls GNU tar
 * makes — because four thread-pool round trips per file cost more than the calls themselves; the caller yields to
 * the event loop at least every {@link SYNC_SLICE_MS} ms. Large files are streamed asynchronously.
 */
export class FileWriter {
  /** Permission bits whose umask effect is known, and those the umask removes. */
  private tested = 0;
  private masked = 0;
  private sliceStart = performance.now();

  /** Gives the event loop a turn when the current run of synchronous work has lasted long enough. */
  async yield(): Promise<void> {
    if (performance.now() - this.sliceStart < SYNC_SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }

  private needsChmod(mode: number, actual: () => number): boolean {
    if ((mode & ~this.tested) !== 0) {
      this.masked |= mode & ~actual();
      this.tested |= mode;
    }
    return (mode & this.masked) !== 0;
  }

  /**
   * Writes a whole file synchronously. Returns false, writing nothing, when a directory or a symlink is in the
   * way (the caller removes it — which changes what later paths resolve to — and calls again).
   */
  writeNow(destination: string, data: Buffer, mode: number, mtime: Date): boolean {
    let fd: number;
    try {
      fd = openSync(destination, CREATE_EXCLUSIVE, mode || 0o666);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = lstatSync(destination);
      if (info.isDirectory() || info.isSymbolicLink()) return false;
      unlinkSync(destination);
      fd = openSync(destination, CREATE_EXCLUSIVE, mode || 0o666);
    }
    try {
      let offset = 0;
      while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
      if (mode && this.needsChmod(mode, () => fstatSync(fd).mode & 0o777)) fchmodSync(fd, mode);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** Streams a file; same contract as {@link writeNow} (false when a directory or symlink is in the way). */
  async writeStream(destination: string, data: () => Readable, mode: number, mtime: Date): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(destination, CREATE_EXCLUSIVE, mode || 0o666);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await lstat(destination);
      if (info.isDirectory() || info.isSymbolicLink()) return false;
      await unlink(destination);
      handle = await open(destination, CREATE_EXCLUSIVE, mode || 0o666);
    }
    try {
      // Written chunk by chunk on the handle (a handle's write stream keeps it from closing unless auto-closed).
      const source = data();
      try {
        for await (const chunk of source) {
          const bytes = chunk as Buffer;
          let offset = 0;
          while (offset < bytes.length) offset += (await handle.write(bytes, offset)).bytesWritten;
        }
      } finally {
        source.destroy();
      }
      if (mode) {
        let actual = 0;
        if ((mode & ~this.tested) !== 0) actual = (await handle.stat()).mode & 0o777;
        if (this.needsChmod(mode, () => actual)) await handle.chmod(mode);
      }
      await handle.utimes(mtime, mtime);
    } finally {
      await handle.close();
    }
    this.sliceStart = performance.now();
    return true;
  }
}
