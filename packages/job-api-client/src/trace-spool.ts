import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { JobApiError } from './errors.js';

/**
 * Where a job's trace is kept while it is uploaded: the uploader appends, reads any range again (416 recovery may
 * rewind to any earlier offset, a 412 to 0) and puts `length`/`checksum` in the final update (spec §7.5).
 * `slice` may be asynchronous; `close` releases memory and removes any file and is safe to repeat.
 */
export interface TraceStore {
  readonly length: number;
  /** `crc32:` + 8 lowercase hex digits of every byte so far. */
  readonly checksum: string;
  append(chunk: string | Uint8Array): number;
  /**
   * Bytes [start, min(start + max, length)). A copy is made into `scratch` when it is large enough (the caller
   * then owns the result only until its next slice into the same scratch); otherwise into a new buffer.
   */
  slice(start: number, max: number, scratch?: Buffer): Buffer | Promise<Buffer>;
  close(): Promise<void>;
}

/** `traceSpool` of the job session: keep the trace in a temporary file in `directory` (the caller's choice). */
export interface TraceSpoolOptions {
  /** Directory of the temporary file; created (0700) when missing. The file is 0600 and removed on `close`. */
  directory: string;
  /** Bytes per block (1 MiB): the unit written to the file and the memory kept for the unwritten tail. */
  blockBytes?: number;
  /**
   * Full blocks may wait in memory for the background writer up to this many bytes (16 MiB); beyond that `append`
   * writes synchronously, so memory stays bounded even when the disk is slower than the job's output.
   */
  maxQueuedBytes?: number;
}

/** Why the spool stopped using its file (bytes from then on stay in memory). */
export type TraceSpoolFallback = (error: JobApiError) => void;

interface Block {
  /** Offset of the block's first byte in the whole trace. */
  readonly start: number;
  readonly data: Buffer;
  fill: number;
  /** `queued`: in memory only; `writing`: a background write is under way; `written`: on the file. */
  state: 'queued' | 'writing' | 'written';
}

const MiB = 1024 * 1024;

/**
 * A trace kept in a temporary file, with only a bounded window in memory: the block being filled plus full blocks
 * the writer has not put on disk yet. Bytes below `onFile` are read back from the file (positioned reads of bytes
 * that never change, so reads and appends may interleave freely); bytes above it are copied from memory. Slices are
 * always copies (into the caller's scratch buffer when given), so written blocks can be reused for new bytes.
 *
 * The file is created when the first block is full (a trace under one block never touches the disk) as
 * `trace-<label>-<random>.log` with mode 0600. If the file cannot be created or written (ENOSPC, EIO, the
 * directory gone and not creatable), the spool falls back to memory: what is on the file stays readable there,
 * every later byte stays in memory, and `onFallback` is told once (JOB_API_TRACE_SPOOL_FAILED). A file removed
 * while open (its directory deleted mid-job) goes on working on Linux: the open descriptor keeps its data.
 * Reading bytes back from a failing file rejects with JOB_API_TRACE_SPOOL_FAILED: those bytes are lost.
 */
export class TraceSpool implements TraceStore {
  private readonly directory: string;
  private readonly label: string;
  private readonly blockBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly onFallback: TraceSpoolFallback | undefined;
  /** Blocks not (yet) known to be on the file, oldest first; together they hold [onFile, size). */
  private blocks: Block[] = [];
  /** Written blocks' buffers, reused for new blocks. */
  private spare: Buffer[] = [];
  private size = 0;
  private crc = 0;
  /** Every byte below this offset is on the file. */
  private onFile = 0;
  private mode: 'file' | 'memory' = 'file';
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle | undefined> | undefined;
  private path: string | undefined;
  private writer: Promise<void> | undefined;
  private readonly reads = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(options: TraceSpoolOptions & { label?: string; onFallback?: TraceSpoolFallback }) {
    this.directory = options.directory;
    this.label = (options.label ?? 'job').replace(/[^\w.-]/g, '_');
    this.blockBytes = Math.max(1, options.blockBytes ?? MiB);
    this.maxQueuedBytes = options.maxQueuedBytes ?? 16 * MiB;
    this.onFallback = options.onFallback;
  }

  get length(): number {
    return this.size;
  }

  get checksum(): string {
    return `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** The temporary file's path while it exists (for diagnostics and tests). */
  get filePath(): string | undefined {
    return this.path;
  }

  /** `file` while bytes go to the file, `memory` after a failure made the spool fall back. */
  get storage(): 'file' | 'memory' {
    return this.mode;
  }

  /** Bytes held in blocks not yet on the file (not counting the two spare blocks kept for reuse). */
  get memoryBytes(): number {
    return this.blocks.length * this.blockBytes;
  }

  /** Resolves once every full block is on the file (or the spool fell back to memory). */
  async whenWritten(): Promise<void> {
    while (this.writer) await this.writer.catch(() => undefined);
  }

  append(chunk: string | Uint8Array): number {
    if (this.closing) throw new JobApiError('JOB_API_TRACE_CLOSED', 'trace spool is closed');
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (bytes.length === 0) return 0;
    this.crc = crc32(bytes, this.crc);
    let offset = 0;
    while (offset < bytes.length) {
      let block = this.blocks.at(-1);
      if (!block || block.fill === this.blockBytes) {
        const data = this.spare.pop() ?? Buffer.allocUnsafe(this.blockBytes);
        block = { start: this.size, data, fill: 0, state: 'queued' };
        this.blocks.push(block);
      }
      const count = Math.min(this.blockBytes - block.fill, bytes.length - offset);
      block.data.set(bytes.subarray(offset, offset + count), block.fill);
      block.fill += count;
      offset += count;
      this.size += count;
      if (block.fill === this.blockBytes) this.blockFull();
    }
    return bytes.length;
  }

  private blockFull(): void {
    if (this.mode !== 'file') return;
    this.writer ??= this.writeQueued().finally(() => {
      this.writer = undefined;
    });
    // Backpressure the only way a synchronous append can: write the oldest waiting blocks now.
    if (this.handle && this.blocks.length * this.blockBytes > this.maxQueuedBytes) {
      for (const block of this.blocks) {
        if (this.blocks.length * this.blockBytes <= this.maxQueuedBytes / 2 || this.mode !== 'file') break;
        if (block.state !== 'queued' || block.fill !== this.blockBytes) continue;
        try {
          writeSync(this.handle.fd, block.data, 0, block.fill, block.start);
          block.state = 'written';
        } catch (error) {
          this.fallBack(error);
        }
        this.dropWritten();
      }
    }
  }

  private async ensureOpen(): Promise<FileHandle | undefined> {
    this.opening ??= (async () => {
      try {
        await makeDirectory(this.directory);
        const path = join(this.directory, `trace-${this.label}-${randomBytes(6).toString('hex')}.log`);
        const handle = await open(path, 'wx+', 0o600);
        this.path = path;
        this.handle = handle;
        return handle;
      } catch (error) {
        this.fallBack(error);
        return undefined;
      }
    })();
    return this.opening;
  }

  /**
   * The background writer: every full block waiting (and following each other) in one `writev`, oldest first,
   * one request at a time; the blocks leave memory once on the file.
   */
  private async writeQueued(): Promise<void> {
    const handle = await this.ensureOpen();
    if (!handle) return;
    for (;;) {
      if (this.mode !== 'file') return;
      const first = this.blocks.findIndex((b) => b.state === 'queued' && b.fill === this.blockBytes);
      if (first < 0) return;
      const batch: Block[] = [];
      for (let i = first; i < this.blocks.length; i++) {
        const block = this.blocks[i] as Block;
        if (block.state !== 'queued' || block.fill !== this.blockBytes) break;
        block.state = 'writing';
        batch.push(block);
      }
      try {
        let done = 0;
        const total = batch.length * this.blockBytes;
        const position = (batch[0] as Block).start;
        while (done < total) {
          const { bytesWritten } =
            done === 0
              ? await handle.writev(
                  batch.map((b) => b.data),
                  position,
                )
              : await handle.write(
                  Buffer.concat(batch.map((b) => b.data)).subarray(done),
                  0,
                  total - done,
                  position + done,
                );
          if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
          done += bytesWritten;
        }
        for (const block of batch) block.state = 'written';
      } catch (error) {
        for (const block of batch) block.state = 'queued';
        this.fallBack(error);
      }
      this.dropWritten();
    }
  }

  /** Leading written blocks leave memory: from now on they are read from the file. */
  private dropWritten(): void {
    let count = 0;
    while (count < this.blocks.length && this.blocks[count]?.state === 'written') count++;
    if (count === 0) return;
    const last = this.blocks[count - 1] as Block;
    this.onFile = last.start + last.fill;
    // Two written blocks are kept for reuse: a long trace then allocates no new memory block by block.
    for (let i = 0; i < count && this.spare.length < 2; i++) this.spare.push((this.blocks[i] as Block).data);
    this.blocks = this.blocks.slice(count);
  }

  private fallBack(error: unknown): void {
    if (this.mode !== 'file') return;
    this.mode = 'memory';
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const spoolError = new JobApiError(
      'JOB_API_TRACE_SPOOL_FAILED',
      `trace spool in ${this.directory}: ${code ?? (error instanceof Error ? error.message : String(error))}; keeping the rest of the trace in memory`,
      { cause: error },
    );
    this.onFallback?.(spoolError);
  }

  slice(start: number, max: number, scratch?: Buffer): Buffer | Promise<Buffer> {
    const end = Math.min(this.size, start + max);
    if (start >= end) return Buffer.alloc(0);
    if (this.closing) {
      return Promise.reject(new JobApiError('JOB_API_TRACE_CLOSED', 'trace spool is closed'));
    }
    // Everything at or above onFile is in `blocks` now; copy it before any await (blocks may leave memory later).
    // Always a copy, never a view of a block: blocks are recycled once written.
    const memoryStart = Math.max(start, this.onFile);
    // Reusing the caller's scratch keeps 1 MiB reads from the file from piling up as garbage outside the JS heap.
    const out =
      scratch && scratch.length >= end - start ? scratch.subarray(0, end - start) : Buffer.allocUnsafe(end - start);
    for (const block of this.blocks) {
      const from = Math.max(memoryStart, block.start);
      const to = Math.min(end, block.start + block.fill);
      if (from < to) block.data.copy(out, from - start, from - block.start, to - block.start);
    }
    if (start >= this.onFile) return out;
    const fileEnd = Math.min(end, this.onFile);
    const read = this.readFile(out, start, fileEnd);
    this.reads.add(read);
    return read.finally(() => this.reads.delete(read)).then(() => out);
  }

  private async readFile(out: Buffer, start: number, end: number): Promise<void> {
    const handle = this.handle;
    try {
      if (!handle) throw new Error('the file is not open');
      let done = 0;
      while (start + done < end) {
        const { bytesRead } = await handle.read(out, done, end - start - done, start + done);
        if (bytesRead <= 0) throw new Error(`unexpected end of file at ${start + done}`);
        done += bytesRead;
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new JobApiError(
        'JOB_API_TRACE_SPOOL_FAILED',
        `trace spool: cannot read bytes ${start}-${end - 1} back from ${this.path ?? this.directory}: ${code ?? (error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Waits for pending writes and reads, closes and removes the file, drops the memory. Safe to repeat. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.writer?.catch(() => undefined);
      await Promise.allSettled([...this.reads]);
      const handle = this.handle ?? (this.opening ? await this.opening : undefined);
      this.blocks = [];
      this.spare = [];
      this.handle = undefined;
      await handle?.close().catch(() => undefined);
      if (this.path) {
        const path = this.path;
        await unlink(path).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return;
          throw new JobApiError('JOB_API_TRACE_SPOOL_FAILED', `trace spool: cannot remove ${path}: ${error.code}`, {
            cause: error,
          });
        });
      }
      this.path = undefined;
    })();
    return this.closing;
  }
}

/**
 * `mkdir -p` with mode 0700. Not `mkdir(…, { recursive: true })`: on Node 20 that never settles for a path the
 * kernel refuses with ENOENT although its parent exists (e.g. `/proc/x`).
 */
async function makeDirectory(path: string, depth = 0): Promise<void> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path || depth > 64) throw error;
    await makeDirectory(parent, depth + 1);
    await mkdir(path, { mode: 0o700 }).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}
