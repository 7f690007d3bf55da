import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import {
  type Demultiplexed,
  demultiplex,
  demultiplexTo,
  type OutputChunk,
  readFrames,
  type StreamMode,
} from './demux.js';

/**
 * A container's output (logs, attach, exec): multiplexed frames unless the container has a TTY. Consume it one
 * way: iterate pieces (`for await (const { stream, data } of output)`), `demultiplex()` into two Readables,
 * `pipeTo(stdout, stderr)`, or read `raw` yourself.
 */
export class OutputStream implements AsyncIterable<OutputChunk> {
  readonly raw: Readable;
  readonly mode: StreamMode;

  constructor(raw: Readable, mode: StreamMode) {
    this.raw = raw;
    this.mode = mode;
  }

  frames(): AsyncGenerator<OutputChunk> {
    return readFrames(this.raw as AsyncIterable<Buffer>, this.mode);
  }

  [Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    return this.frames();
  }

  demultiplex(): Demultiplexed {
    return demultiplex(this.raw, this.mode);
  }

  /** Writes stdout/stderr into the given Writables (honouring their backpressure); resolves at the end. */
  pipeTo(stdout: Writable, stderr: Writable): Promise<void> {
    return demultiplexTo(this.raw as AsyncIterable<Buffer>, stdout, stderr, this.mode);
  }

  /** Collects everything (small outputs only). */
  async collect(): Promise<{ stdout: Buffer; stderr: Buffer }> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    for await (const piece of this.frames()) (piece.stream === 'stderr' ? err : out).push(piece.data);
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  destroy(error?: Error): void {
    this.raw.destroy(error);
  }
}

/** A hijacked attach / exec session: output as {@link OutputStream}, plus stdin on the same socket. */
export class AttachedSession extends OutputStream {
  readonly socket: Socket;

  constructor(socket: Socket, mode: StreamMode) {
    super(socket, mode);
    this.socket = socket;
  }

  /** The container's stdin. */
  get stdin(): Writable {
    return this.socket;
  }

  /** Half-closes the connection: the process sees end of input; output keeps flowing. */
  closeStdin(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.writableEnded) resolve();
      else this.socket.end(() => resolve());
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** `await using session = await containers.attach(…)` closes the connection at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
