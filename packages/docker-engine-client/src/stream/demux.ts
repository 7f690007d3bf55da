import { Readable, type Writable } from 'node:stream';
import { DockerError, ProtocolError } from '../errors.js';

/** The stream a piece of output belongs to (byte 0 of a frame header: 0 stdin, 1 stdout, 2 stderr, 3 system). */
export type StreamKind = 'stdin' | 'stdout' | 'stderr' | 'system';

/** A piece of one stream's bytes. Pieces of a frame may arrive separately; order is the daemon's order. */
export interface OutputChunk {
  stream: StreamKind;
  data: Buffer;
}

/**
 * `multiplexed`: 8-byte-header frames (containers without a TTY). `raw`: TTY output, all stdout.
 * `auto`: decide from the first 8 bytes (a valid header → multiplexed), as docker-modem does.
 */
export type StreamMode = 'multiplexed' | 'raw' | 'auto';

const KINDS: readonly StreamKind[] = ['stdin', 'stdout', 'stderr', 'system'];
const HEADER = 8;

function isHeader(bytes: Buffer): boolean {
  return (bytes[0] as number) <= 3 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0;
}

/**
 * Incremental frame parser. Feed chunks of any size; it returns the payload pieces found so far without copying
 * payload bytes (pieces are slices of the input chunks).
 */
export class FrameParser {
  private mode: StreamMode;
  private header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private remaining = 0;
  private current: StreamKind = 'stdout';
  private offset = 0;

  constructor(mode: StreamMode = 'auto') {
    this.mode = mode;
  }

  /** Bytes consumed so far (for error messages). */
  get position(): number {
    return this.offset;
  }

  push(chunk: Buffer): OutputChunk[] {
    const out: OutputChunk[] = [];
    let index = 0;
    if (this.mode === 'raw') {
      this.offset += chunk.length;
      if (chunk.length > 0) out.push({ stream: 'stdout', data: chunk });
      return out;
    }
    while (index < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - index);
        out.push({ stream: this.current, data: chunk.subarray(index, index + take) });
        this.remaining -= take;
        index += take;
        this.offset += take;
        continue;
      }
      const take = Math.min(HEADER - this.headerFill, chunk.length - index);
      chunk.copy(this.header, this.headerFill, index, index + take);
      this.headerFill += take;
      index += take;
      if (this.headerFill < HEADER) break;
      if (!isHeader(this.header)) {
        if (this.mode === 'auto') {
          // Not a multiplexed stream: everything (including these 8 bytes) is raw output.
          this.mode = 'raw';
          this.headerFill = 0;
          const rest = Buffer.concat([this.header, chunk.subarray(index)]);
          this.offset += rest.length;
          out.push({ stream: 'stdout', data: rest });
          return out;
        }
        throw new ProtocolError(
          `invalid stream frame header ${this.header.toString('hex')} at byte ${this.offset} of a multiplexed stream`,
        );
      }
      this.mode = 'multiplexed';
      this.current = KINDS[this.header[0] as number] as StreamKind;
      this.remaining = this.header.readUInt32BE(4);
      this.headerFill = 0;
      this.offset += HEADER;
    }
    return out;
  }

  /** Call at the end of input: returns held-back bytes (auto mode, short stream) or throws if a frame is cut. */
  end(): OutputChunk[] {
    if (this.mode === 'auto' && this.headerFill > 0) {
      this.mode = 'raw';
      return [{ stream: 'stdout', data: Buffer.from(this.header.subarray(0, this.headerFill)) }];
    }
    if (this.remaining > 0 || this.headerFill > 0) {
      throw new ProtocolError(
        `multiplexed stream ended inside a frame (${this.remaining > 0 ? `${this.remaining} payload bytes` : `${HEADER - this.headerFill} header bytes`} missing)`,
      );
    }
    return [];
  }
}

/** Yields output pieces as they arrive. Pull-based: the source is read only as fast as the loop consumes. */
export async function* readFrames(
  source: AsyncIterable<Buffer | string>,
  mode: StreamMode = 'auto',
): AsyncGenerator<OutputChunk> {
  const parser = new FrameParser(mode);
  for await (const chunk of source) {
    yield* parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  yield* parser.end();
}

export interface Demultiplexed {
  stdout: Readable;
  stderr: Readable;
}

/**
 * Splits a stream into stdout and stderr Readables. Backpressure: when either output is full, the source is not
 * read until that output is drained — so read both (or use {@link readFrames}); an unread stderr stalls stdout,
 * exactly like a child process's pipes. A source error (or a framing error) destroys both outputs with it.
 */
export function demultiplex(source: Readable | AsyncIterable<Buffer>, mode: StreamMode = 'auto'): Demultiplexed {
  let wake: (() => void) | undefined;
  const resume = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void pump();
  };
  const highWaterMark = 64 * 1024;
  const stdout = new Readable({
    highWaterMark,
    read() {
      start();
      resume();
    },
    destroy(error, callback) {
      // The consumer gave up on one output: stop reading the source and close the other without an error.
      stop(null);
      callback(error);
    },
  });
  const stderr = new Readable({
    highWaterMark,
    read() {
      start();
      resume();
    },
    destroy(error, callback) {
      // The consumer gave up on one output: stop reading the source and close the other without an error.
      stop(null);
      callback(error);
    },
  });
  let stopped = false;
  const stop = (error: Error | null) => {
    if (stopped) return;
    stopped = true;
    if (source instanceof Readable && !source.destroyed) source.destroy();
    if (!stdout.destroyed) stdout.destroy(error ?? undefined);
    if (!stderr.destroyed) stderr.destroy(error ?? undefined);
    resume();
  };
  async function pump(): Promise<void> {
    try {
      for await (const piece of readFrames(source as AsyncIterable<Buffer>, mode)) {
        if (stopped) return;
        const target = piece.stream === 'stderr' ? stderr : stdout;
        target.push(piece.data);
        while (!stopped && target.readableLength >= target.readableHighWaterMark) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      }
      if (!stopped) {
        stdout.push(null);
        stderr.push(null);
      }
    } catch (error) {
      const typed = DockerError.isInstance(error) ? error : new ProtocolError(String(error), { cause: error });
      stop(typed);
    }
  }
  return { stdout, stderr };
}

async function writeTo(target: Writable, data: Buffer): Promise<void> {
  if (target.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      target.off('error', onError);
      target.off('close', onDrain);
      resolve();
    };
    const onError = (error: Error) => {
      target.off('drain', onDrain);
      target.off('close', onDrain);
      reject(error);
    };
    target.once('drain', onDrain);
    target.once('close', onDrain);
    target.once('error', onError);
  });
}

/** Writes stdout and stderr pieces into two Writables, honouring their backpressure. Does not end them. */
export async function demultiplexTo(
  source: AsyncIterable<Buffer>,
  stdout: Writable,
  stderr: Writable,
  mode: StreamMode = 'auto',
): Promise<void> {
  for await (const piece of readFrames(source, mode)) {
    await writeTo(piece.stream === 'stderr' ? stderr : stdout, piece.data);
  }
}

/** Encodes one frame (useful for tests and fakes). */
export function encodeFrame(stream: StreamKind, data: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header[0] = KINDS.indexOf(stream);
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}
