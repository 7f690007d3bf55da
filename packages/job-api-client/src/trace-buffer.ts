import { crc32 } from 'node:zlib';
import type { TraceStore } from './trace-spool.js';

const BLOCK_SIZE = 1024 * 1024;

/**
 * The job's whole trace as sent to GitLab: append-only bytes kept in 1 MiB blocks (the server may ask for any
 * range again after a 416 or 412), with the running CRC-32 and byte count the updates carry (spec §7.5).
 */
export class TraceBuffer implements TraceStore {
  private blocks: Buffer[] = [];
  private size = 0;
  private crc = 0;

  get length(): number {
    return this.size;
  }

  /** `crc32:` + 8 lowercase hex digits of every byte so far. */
  get checksum(): string {
    return `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  append(chunk: string | Uint8Array): number {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (bytes.length === 0) return 0;
    this.crc = crc32(bytes, this.crc);
    let offset = 0;
    while (offset < bytes.length) {
      const within = this.size % BLOCK_SIZE;
      if (within === 0) this.blocks.push(Buffer.allocUnsafe(BLOCK_SIZE));
      const block = this.blocks[this.blocks.length - 1] as Buffer;
      const count = Math.min(BLOCK_SIZE - within, bytes.length - offset);
      block.set(bytes.subarray(offset, offset + count), within);
      offset += count;
      this.size += count;
    }
    return bytes.length;
  }

  /** Bytes [start, min(start + max, length)); a view when they sit in one block (written bytes never change). */
  slice(start: number, max: number): Buffer {
    const end = Math.min(this.size, start + max);
    if (start >= end || this.blocks.length === 0) return Buffer.alloc(0);
    const first = Math.floor(start / BLOCK_SIZE);
    if (first === Math.floor((end - 1) / BLOCK_SIZE)) {
      const block = this.blocks[first] as Buffer;
      return block.subarray(start % BLOCK_SIZE, (start % BLOCK_SIZE) + (end - start));
    }
    const out = Buffer.allocUnsafe(end - start);
    let written = 0;
    let position = start;
    while (position < end) {
      const block = this.blocks[Math.floor(position / BLOCK_SIZE)] as Buffer;
      const within = position % BLOCK_SIZE;
      const count = Math.min(BLOCK_SIZE - within, end - position);
      block.copy(out, written, within, within + count);
      written += count;
      position += count;
    }
    return out;
  }

  /** Drops the bytes (length and checksum stay); later slices are empty. */
  async close(): Promise<void> {
    this.blocks = [];
  }
}
