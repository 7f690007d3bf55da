// The trace writer: everything the job log receives goes through here, in GitLab's order (job-execution §6.6,
// api-spec §7.5): decode (invalid UTF-8 → U+FFFD), mask, frame with timestamps, output limit, checksum, sink.
import { crc32 } from 'node:zlib';
import type { TraceSink } from '../executor/contract.js';
import { ANSI } from '../shell/writer.js';
import { createMasker, type MaskingOptions, type StreamMasker } from './masker.js';

export type StreamType = 'stdout' | 'stderr';

/** Stream ids of the timestamped framing: runner messages, script output, service logs. */
export const STREAM_RUNNER = 0x00;
export const STREAM_SCRIPT = 0x01;
export const STREAM_SERVICE = 0x0f;

export interface TraceWriterOptions {
  sink: TraceSink;
  masking: MaskingOptions;
  /** `FF_TIMESTAMPS`: prefix every line with `<RFC3339 µs> <id><O|E><' '|'+'>`. */
  timestamps: boolean;
  /** `output_limit` in bytes (the config value is KiB; default 4096 KiB). */
  outputLimit?: number | undefined;
  /** Milliseconds since the epoch (fractions give microseconds). */
  clock?: (() => number) | undefined;
}

export interface TraceSummary {
  /** `crc32:<8 hex>` of the stored bytes. */
  checksum: string;
  bytesize: number;
  /** True when the output limit was reached. */
  truncated: boolean;
}

const encoder = new TextEncoder();
const CHUNK_FLUSH = 8 * 1024;

function defaultClock(): number {
  return performance.timeOrigin + performance.now();
}

let cachedMs = Number.NaN;
let cachedIso = '';

export function formatTimestamp(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const micros = Math.floor((epochMs - whole) * 1000);
  if (whole !== cachedMs) {
    cachedMs = whole;
    cachedIso = new Date(whole).toISOString().slice(0, 23); // 2026-05-08T09:28:47.185
  }
  return `${cachedIso}${String(micros).padStart(3, '0')}Z`;
}

class Channel {
  readonly decoder = new TextDecoder('utf-8', { fatal: false });
  readonly masker: StreamMasker;
  readonly prefix: string;
  buffer = '';
  continuation = false;
  constructor(masker: StreamMasker, id: number, type: StreamType) {
    this.masker = masker;
    this.prefix = id.toString(16).padStart(2, '0') + (type === 'stderr' ? 'E' : 'O');
  }
}

export class TraceWriter {
  readonly #options: TraceWriterOptions;
  readonly #clock: () => number;
  readonly #limit: number;
  readonly #channels = new Map<string, Channel>();
  #order: Channel[] = [];
  #bytes = 0;
  #crc = 0;
  #truncated = false;
  #closed = false;
  #pending: Promise<void> = Promise.resolve();
  #sinkError: unknown;

  constructor(options: TraceWriterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? defaultClock;
    this.#limit = options.outputLimit ?? 4096 * 1024;
  }

  /** Raw output of a stream (script stdout/stderr, service logs). Bytes may split characters and secrets. */
  write(chunk: Uint8Array | string, stream: StreamType = 'stdout', id = STREAM_SCRIPT): void {
    const channel = this.#channel(id, stream);
    const text = typeof chunk === 'string' ? chunk : channel.decoder.decode(chunk, { stream: true });
    if (text === '') return;
    this.#emit(channel, channel.masker.push(text), false);
  }

  /** Emits whatever the stream holds back (a partial line, a possible secret prefix). */
  flushStream(stream: StreamType = 'stdout', id = STREAM_SCRIPT): void {
    const channel = this.#channels.get(`${id}:${stream}`);
    if (!channel) return;
    const tail = channel.decoder.decode();
    this.#emit(channel, channel.masker.push(tail) + channel.masker.flush(), true);
  }

  /** Flushes every script/service stream, oldest first (call at the end of each stage). */
  flushStreams(): void {
    for (const channel of this.#order) {
      if (channel.prefix.startsWith('00')) continue;
      const tail = channel.decoder.decode();
      this.#emit(channel, channel.masker.push(tail) + channel.masker.flush(), true);
    }
  }

  /** Runner text on stream 00 (already formatted); flushes script streams first to keep order. */
  runner(text: string): void {
    this.flushStreams();
    const channel = this.#channel(STREAM_RUNNER, 'stdout');
    this.#emit(channel, channel.masker.push(text) + channel.masker.flush(), false);
  }

  println(text: string): void {
    this.runner(`${ANSI.eraseLine}${text}${ANSI.reset}\n`);
  }
  info(text: string): void {
    this.runner(`${ANSI.boldGreen}${text}${ANSI.reset}\n`);
  }
  warning(text: string): void {
    this.runner(`${ANSI.yellow}WARNING: ${text}${ANSI.reset}\n`);
  }
  error(text: string): void {
    this.runner(`${ANSI.boldRed}ERROR: ${text}${ANSI.reset}\n`);
  }

  /** `section_start:<unix>:<name>[options]\r\e[0K` (no newline). */
  sectionStart(name: string, options?: string): void {
    const now = Math.floor(this.#clock() / 1000);
    this.runner(`section_start:${now}:${name}${options ? `[${options}]` : ''}\r${ANSI.eraseLine}`);
  }
  sectionEnd(name: string): void {
    const now = Math.floor(this.#clock() / 1000);
    this.runner(`section_end:${now}:${name}\r${ANSI.eraseLine}`);
  }

  get bytesize(): number {
    return this.#bytes;
  }
  get checksum(): string {
    return `crc32:${(this.#crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** Resolves when the sink has accepted everything written so far; rejects with the sink's error. */
  async drain(): Promise<void> {
    await this.#pending;
    if (this.#sinkError !== undefined) throw this.#sinkError;
  }

  /** Flushes every stream and the sink; later writes are dropped. */
  async close(): Promise<TraceSummary> {
    if (!this.#closed) {
      for (const channel of this.#order) {
        const tail = channel.decoder.decode();
        this.#emit(channel, channel.masker.push(tail) + channel.masker.flush(), true);
      }
      this.#closed = true;
    }
    await this.drain();
    return { checksum: this.checksum, bytesize: this.#bytes, truncated: this.#truncated };
  }

  #channel(id: number, stream: StreamType): Channel {
    const key = `${id}:${stream}`;
    let channel = this.#channels.get(key);
    if (!channel) {
      channel = new Channel(createMasker(this.#options.masking), id, stream);
      this.#channels.set(key, channel);
      this.#order.push(channel);
    }
    return channel;
  }

  #emit(channel: Channel, text: string, final: boolean): void {
    if (this.#closed) return;
    if (!this.#options.timestamps) {
      if (text !== '') this.#store(text);
      return;
    }
    channel.buffer += text;
    const stamp = formatTimestamp(this.#clock());
    let out = '';
    let newline = channel.buffer.indexOf('\n');
    let start = 0;
    while (newline >= 0) {
      out += this.#linePrefix(channel, stamp) + channel.buffer.slice(start, newline + 1);
      channel.continuation = false;
      start = newline + 1;
      newline = channel.buffer.indexOf('\n', start);
    }
    const rest = channel.buffer.slice(start);
    channel.buffer = '';
    if (rest !== '') {
      if (final || rest.includes('\r') || rest.length > CHUNK_FLUSH) {
        out += `${this.#linePrefix(channel, stamp)}${rest}\n`;
        channel.continuation = true;
      } else {
        channel.buffer = rest;
      }
    }
    if (out !== '') this.#store(out);
  }

  /** One timestamp per write: every line a write completes carries the time it arrived. */
  #linePrefix(channel: Channel, stamp: string): string {
    return `${stamp} ${channel.prefix}${channel.continuation ? '+' : ' '}`;
  }

  #store(text: string): void {
    if (this.#truncated) return;
    let bytes = encoder.encode(text);
    if (this.#bytes + bytes.length > this.#limit) {
      let cut = this.#limit - this.#bytes;
      while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--; // never split a UTF-8 character
      const notice = encoder.encode(
        `\n${ANSI.boldYellow}Job's log exceeded limit of ${this.#limit} bytes.\nJob execution will continue but no more output will be collected.${ANSI.reset}\n`,
      );
      const kept = bytes.subarray(0, cut);
      bytes = new Uint8Array(kept.length + notice.length);
      bytes.set(kept, 0);
      bytes.set(notice, kept.length);
      this.#truncated = true;
    }
    this.#bytes += bytes.length;
    this.#crc = crc32(bytes, this.#crc);
    const sink = this.#options.sink;
    const chunk = bytes;
    this.#pending = this.#pending.then(async () => {
      if (this.#sinkError !== undefined) return;
      try {
        await sink.write(chunk);
      } catch (error) {
        this.#sinkError = error;
      }
    });
  }
}
