import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

/** Input compressed per piece; each piece is primed with the 32 KiB before it, so the ratio barely changes. */
const BLOCK_SIZE = 1024 * 1024;
const WINDOW = 32 * 1024;
/** Pieces compressed at once: libuv's thread pool has four threads; one stays free for the tar reader's file I/O. */
const IN_FLIGHT = 3;

async function* gzipPieces(source: AsyncIterable<Buffer>, level: number): AsyncGenerator<Buffer> {
  // One gzip member whose deflate stream is cut into independently compressed pieces (the pigz technique): each
  // piece but the last ends with a sync flush on a byte boundary, and uses the previous 32 KiB as dictionary.
  yield Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level >= 9 ? 2 : level <= 1 ? 4 : 0, 3]);
  let crc = 0;
  let size = 0;
  let dictionary: Buffer | undefined;
  const queue: Promise<Buffer>[] = [];
  const start = (block: Buffer, last: boolean) => {
    crc = crc32(block, crc);
    size += block.length;
    const promise = deflateRawAsync(block, {
      level,
      ...(dictionary ? { dictionary } : {}),
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    });
    promise.catch(() => undefined); // awaited in order below
    queue.push(promise);
    dictionary = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : Buffer.from(block);
  };
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    pendingLength += chunk.length;
    while (pendingLength >= BLOCK_SIZE) {
      const joined = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      start(joined.subarray(0, BLOCK_SIZE), false);
      const rest = joined.subarray(BLOCK_SIZE);
      pending = rest.length > 0 ? [rest] : [];
      pendingLength = rest.length;
      while (queue.length >= IN_FLIGHT) yield await (queue.shift() as Promise<Buffer>);
    }
  }
  start(Buffer.concat(pending), true);
  while (queue.length > 0) yield await (queue.shift() as Promise<Buffer>);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size >>> 0, 4);
  yield trailer;
}

/**
 * Gzips a byte stream at `level` using several threads: a single standard gzip member, compressed in 1 MiB pieces
 * on libuv's thread pool, written in order (memory stays at a few pieces).
 */
export function parallelGzip(source: Readable, level: number): Readable {
  const output = Readable.from(gzipPieces(source, level), { objectMode: false, highWaterMark: BLOCK_SIZE });
  source.on('error', (error) => output.destroy(error));
  return output;
}
