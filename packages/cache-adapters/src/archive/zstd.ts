import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from '../errors.js';

// zstd comes from the optional `zstd-napi` binding (Node 20 has no zstd in zlib). It is loaded on first use, so the
// package works where the native build failed: only the zstd formats then fail, with ARCHIVE_FORMAT_UNSUPPORTED.
// We drive its low-level contexts ourselves: its DecompressStream pushes everything one input chunk expands to at
// once (a bomb would fill memory before a limit could act), while ours stops when the reader stops reading.

type StreamResult = [returnValue: number, dstProduced: number, srcConsumed: number];

interface CompressContext {
  setParameter(parameter: number, value: number): void;
  compressStream2(destination: Uint8Array, source: Uint8Array, endOperation: number): StreamResult;
  compress2(destination: Uint8Array, source: Uint8Array): number;
}

interface DecompressContext {
  decompressStream(destination: Uint8Array, source: Uint8Array): StreamResult;
}

/** The part of zstd-napi's native binding runnerkit uses. */
export interface ZstdBinding {
  readonly CCtx: new () => CompressContext;
  readonly DCtx: new () => DecompressContext;
  readonly CParameter: { readonly compressionLevel: number; readonly checksumFlag: number; readonly nbWorkers: number };
  readonly EndDirective: { readonly continue: number; readonly flush: number; readonly end: number };
  compressBound(size: number): number;
  cStreamOutSize(): number;
  dStreamOutSize(): number;
  versionString(): string;
}

/** zstd's magic number as it starts every frame: `28 b5 2f fd`. */
export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

// A variable, so bundlers leave the optional native module to Node's resolver.
const BINDING_MODULE = 'zstd-napi/binding.js';

function isBinding(value: unknown): value is ZstdBinding {
  const candidate = value as Partial<ZstdBinding> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.CCtx === 'function' &&
    typeof candidate.DCtx === 'function' &&
    typeof candidate.CParameter === 'object' &&
    typeof candidate.EndDirective === 'object'
  );
}

/**
 * Loads the binding through `importer` (a module namespace or its CommonJS `default`). Exposed for tests of the
 * missing-module path; {@link loadZstd} is the cached form everyone else uses.
 */
export async function loadZstdWith(importer: () => Promise<unknown>): Promise<ZstdBinding> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    // Node's "Cannot find module" message goes on with its require stack; the first line says enough.
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new ArchiveError(
      'ARCHIVE_FORMAT_UNSUPPORTED',
      `zstd archives need the optional zstd-napi binding, which is not installed: ${reason}`,
      { cause: error },
    );
  }
  const namespace = loaded as { default?: unknown } | null;
  const candidate = isBinding(loaded) ? loaded : namespace?.default;
  if (!isBinding(candidate)) {
    throw new ArchiveError(
      'ARCHIVE_FORMAT_UNSUPPORTED',
      'zstd archives need the optional zstd-napi binding, which is not installed: the module does not look like zstd-napi',
    );
  }
  return candidate;
}

let cached: Promise<ZstdBinding> | undefined;

/** zstd-napi's native binding, loaded once; throws ArchiveError ARCHIVE_FORMAT_UNSUPPORTED when it is missing. */
export async function loadZstd(): Promise<ZstdBinding> {
  cached ??= loadZstdWith(() => import(BINDING_MODULE));
  return cached;
}

/** Whether the zstd formats work here (the optional binding is installed and loads). */
export async function zstdAvailable(): Promise<boolean> {
  try {
    await loadZstd();
    return true;
  } catch {
    return false;
  }
}

/** Output space handed out in pieces: chunks pushed downstream share 1 MiB slabs instead of one buffer each. */
const SLAB_SIZE = 1024 * 1024;

class Slab {
  #buffer = Buffer.allocUnsafe(SLAB_SIZE);
  #used = 0;
  readonly #minimum: number;

  constructor(minimum: number) {
    this.#minimum = minimum;
  }

  /** Free space of at least `minimum` bytes (a fresh slab when the current one is nearly full). */
  space(): Buffer {
    if (SLAB_SIZE - this.#used < this.#minimum) {
      this.#buffer = Buffer.allocUnsafe(SLAB_SIZE);
      this.#used = 0;
    }
    return this.#buffer.subarray(this.#used);
  }

  /** Marks `length` bytes of the last space() as handed out and returns them. */
  take(length: number): Buffer {
    const taken = this.#buffer.subarray(this.#used, this.#used + length);
    this.#used += length;
    return taken;
  }
}

function corrupt(error: unknown, what: string): ArchiveError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ArchiveError('ARCHIVE_CORRUPT', `${what} is not valid zstd data: ${reason}`, { cause: error });
}

export interface ZstdCompressOptions {
  /**
   * Compression threads inside zstd (its `nbWorkers`): 0 compresses on the calling thread; 1 or more moves the work
   * off the event loop (and splits it for several cores). Default 0.
   */
  workers?: number;
}

class ZstdCompress extends Transform {
  readonly #binding: ZstdBinding;
  readonly #context: CompressContext;
  readonly #output: Slab;

  constructor(binding: ZstdBinding, level: number, workers: number) {
    super();
    this.#binding = binding;
    this.#context = new binding.CCtx();
    this.#context.setParameter(binding.CParameter.compressionLevel, level);
    // As the zstd CLI and GitLab Runner's encoder do: each frame ends with a checksum of its content.
    this.#context.setParameter(binding.CParameter.checksumFlag, 1);
    if (workers > 0) this.#context.setParameter(binding.CParameter.nbWorkers, workers);
    this.#output = new Slab(binding.cStreamOutSize());
  }

  #run(source: Buffer, directive: number): void {
    let input = source;
    for (;;) {
      const [remaining, produced, consumed] = this.#context.compressStream2(this.#output.space(), input, directive);
      if (produced > 0) this.push(this.#output.take(produced));
      input = input.subarray(consumed);
      if (directive === this.#binding.EndDirective.continue ? input.length === 0 : remaining === 0) return;
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.#run(chunk, this.#binding.EndDirective.continue);
    } catch (error) {
      done(new ArchiveError('ARCHIVE_CORRUPT', `zstd compression failed: ${String(error)}`, { cause: error }));
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#run(Buffer.alloc(0), this.#binding.EndDirective.end);
    } catch (error) {
      done(new ArchiveError('ARCHIVE_CORRUPT', `zstd compression failed: ${String(error)}`, { cause: error }));
      return;
    }
    done();
  }
}

/** A Transform that compresses its input into one zstd frame (with checksum) at zstd `level` (1–19; 3 is zstd's default). */
export async function createZstdCompressStream(level: number, options: ZstdCompressOptions = {}): Promise<Transform> {
  const binding = await loadZstd();
  return new ZstdCompress(binding, level, options.workers ?? 0);
}

class ZstdDecompress extends Transform {
  readonly #context: DecompressContext;
  readonly #output: Slab;
  #input: Buffer = Buffer.alloc(0);
  #pending: TransformCallback | undefined;
  #inFrame = false;
  #pumping = false;
  #again = false;

  constructor(binding: ZstdBinding) {
    super();
    this.#context = new binding.DCtx();
    this.#output = new Slab(binding.dStreamOutSize());
  }

  /** Decompresses the current chunk until it is used up or the reader has enough; resumed from `_read`. */
  #pump(): void {
    // push() can call back into _read synchronously; the running loop then simply goes on.
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      for (;;) {
        const done = this.#pending;
        if (!done) return;
        this.#again = false;
        const output = this.#output.space();
        let result: StreamResult;
        try {
          result = this.#context.decompressStream(output, this.#input);
        } catch (error) {
          this.#pending = undefined;
          done(corrupt(error, 'the archive'));
          return;
        }
        const [remaining, produced, consumed] = result;
        this.#input = this.#input.subarray(consumed);
        // A call that does nothing after a frame's end reports the next frame's header size: not "inside a frame".
        if (produced > 0 || consumed > 0) this.#inFrame = remaining !== 0;
        const wantsMore = produced > 0 ? this.push(this.#output.take(produced)) : true;
        if (this.#input.length === 0 && (produced < output.length || remaining === 0)) {
          this.#pending = undefined;
          done();
          return;
        }
        if (!wantsMore && !this.#again) return;
      }
    } finally {
      this.#pumping = false;
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#input = chunk;
    this.#pending = done;
    this.#pump();
  }

  override _read(size: number): void {
    this.#pump();
    super._read(size);
  }

  override _flush(done: TransformCallback): void {
    if (this.#inFrame) {
      done(new ArchiveError('ARCHIVE_TRUNCATED', 'the zstd stream ends inside a frame'));
      return;
    }
    done();
  }
}

/**
 * A Transform that decompresses a zstd stream (one or more frames). It produces output only as fast as it is read,
 * so a small frame that expands enormously never fills memory. Errors: ARCHIVE_CORRUPT (not zstd, bad checksum),
 * ARCHIVE_TRUNCATED (the input ends inside a frame).
 */
export async function createZstdDecompressStream(): Promise<Transform> {
  const binding = await loadZstd();
  return new ZstdDecompress(binding);
}

/**
 * Decompresses `data` (one whole zstd frame, as in a zip entry with method 93), refusing more than
 * `maxOutputLength` bytes of output with ARCHIVE_LIMIT_EXCEEDED. The frame's declared content size is never trusted:
 * output is produced in small steps and counted, so at most `maxOutputLength + 1` bytes are ever held.
 */
export async function zstdDecompressBuffer(data: Buffer, maxOutputLength: number): Promise<Buffer> {
  const binding = await loadZstd();
  if (data.length === 0) return Buffer.alloc(0);
  const context = new binding.DCtx();
  const scratch = Buffer.allocUnsafe(Math.max(1, Math.min(binding.dStreamOutSize(), maxOutputLength + 1)));
  const parts: Buffer[] = [];
  let total = 0;
  let input = data;
  let inFrame = true;
  for (;;) {
    let remaining: number;
    let produced: number;
    let consumed: number;
    try {
      [remaining, produced, consumed] = context.decompressStream(scratch, input);
    } catch (error) {
      throw corrupt(error, 'the zstd entry');
    }
    input = input.subarray(consumed);
    if (produced > 0 || consumed > 0) inFrame = remaining !== 0;
    if (produced > 0) {
      total += produced;
      if (total > maxOutputLength) {
        throw new ArchiveError(
          'ARCHIVE_LIMIT_EXCEEDED',
          `the zstd entry expands to more than ${maxOutputLength} bytes`,
        );
      }
      parts.push(Buffer.from(scratch.subarray(0, produced)));
    }
    if (input.length === 0 && (produced < scratch.length || remaining === 0)) break;
    if (produced === 0 && consumed === 0) break;
  }
  if (inFrame || input.length > 0) {
    throw new ArchiveError('ARCHIVE_TRUNCATED', 'the zstd entry ends inside its frame');
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
}

/** Compresses a whole buffer into one zstd frame (with checksum) on the calling thread. */
export async function zstdCompressBuffer(data: Buffer, level: number): Promise<Buffer> {
  const binding = await loadZstd();
  const context = new binding.CCtx();
  context.setParameter(binding.CParameter.compressionLevel, level);
  context.setParameter(binding.CParameter.checksumFlag, 1);
  const output = Buffer.allocUnsafe(binding.compressBound(data.length));
  const written = context.compress2(output, data);
  return output.subarray(0, written);
}
