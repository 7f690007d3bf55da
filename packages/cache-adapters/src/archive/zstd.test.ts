import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../errors.js';
import {
  createZstdCompressStream,
  createZstdDecompressStream,
  loadZstd,
  loadZstdWith,
  zstdAvailable,
  zstdDecompressBuffer,
} from './zstd.js';

const run = promisify(execFile);

/** Runs a command with `input` on stdin and returns its stdout as bytes (Debian's zstd CLI is the reference). */
function tool(command: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
    child.stdin?.end(input ?? Buffer.alloc(0));
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function rejection(promise: Promise<unknown>): Promise<ArchiveError> {
  try {
    await promise;
  } catch (error) {
    expect(ArchiveError.isInstance(error)).toBe(true);
    return error as ArchiveError;
  }
  throw new Error('expected a rejection');
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rk-zstd-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('loading the optional binding', () => {
  it('loads zstd-napi here and reports it available', async () => {
    expect(await zstdAvailable()).toBe(true);
    expect((await loadZstd()).versionString()).toMatch(/^1\.5\./);
  });

  it('turns a missing module into ARCHIVE_FORMAT_UNSUPPORTED with the import error as cause', async () => {
    const missing = 'zstd-napi-that-is-not-installed';
    const error = await rejection(loadZstdWith(() => import(missing)));
    expect(error.code).toBe('ARCHIVE_FORMAT_UNSUPPORTED');
    expect(error.message).toMatch(
      /^zstd archives need the optional zstd-napi binding, which is not installed: .*zstd-napi-that-is-not-installed/,
    );
    expect(error.message).not.toContain('\n');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('keeps only the first line of a failed native load (Node appends its require stack)', async () => {
    const error = await rejection(
      loadZstdWith(async () => {
        throw new Error("Cannot find module './build/Release/binding.node'\nRequire stack:\n- /somewhere/binding.js");
      }),
    );
    expect(error.message).toBe(
      "zstd archives need the optional zstd-napi binding, which is not installed: Cannot find module './build/Release/binding.node'",
    );
  });

  it('refuses a module that loads but is not the binding', async () => {
    const error = await rejection(loadZstdWith(async () => ({ default: { compress: () => 0 } })));
    expect(error.code).toBe('ARCHIVE_FORMAT_UNSUPPORTED');
  });
});

describe('streams against the zstd CLI and GNU tar', () => {
  it('decompresses a tar.zst made by `tar --zstd` to the same tar bytes as `zstd -dc`', async () => {
    const tree = join(work, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'random.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(tree, 'text.txt'), 'hello zstd\n'.repeat(100_000));
    await symlink('text.txt', join(tree, 'link'));
    const archive = join(work, 'gnu.tar.zst');
    await run('tar', ['--zstd', '-cf', archive, '-C', tree, '.']);
    const expected = await tool('zstd', ['-dc', archive]);
    const { createReadStream } = await import('node:fs');
    const ours = await collect(
      createReadStream(archive, { highWaterMark: 7000 }).pipe(await createZstdDecompressStream()),
    );
    expect(ours.length).toBe(expected.length);
    expect(ours.equals(expected)).toBe(true);
  });

  it('compresses (with worker threads) to a stream the zstd CLI verifies and restores', async () => {
    const original = Buffer.concat([randomBytes(2 * 1024 * 1024), Buffer.alloc(6 * 1024 * 1024, 'ab')]);
    const compressed = await collect(Readable.from([original]).pipe(await createZstdCompressStream(3, { workers: 2 })));
    expect(compressed.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    expect(compressed.length).toBeLessThan(original.length / 2);
    const restored = await tool('zstd', ['-dc', '--check'], compressed);
    expect(restored.equals(original)).toBe(true);
  });

  it('reports a truncated stream as ARCHIVE_TRUNCATED and garbage as ARCHIVE_CORRUPT', async () => {
    const frame = await tool('zstd', ['-c', '-3'], randomBytes(200_000));
    const truncated = pipeline(
      Readable.from([frame.subarray(0, frame.length - 100)]),
      await createZstdDecompressStream(),
      async (source) => {
        for await (const _ of source) {
          // drain
        }
      },
    );
    expect((await rejection(truncated)).code).toBe('ARCHIVE_TRUNCATED');
    const garbage = pipeline(Readable.from([randomBytes(4096)]), await createZstdDecompressStream(), async (source) => {
      for await (const _ of source) {
        // drain
      }
    });
    expect((await rejection(garbage)).code).toBe('ARCHIVE_CORRUPT');
  });

  it('produces a bomb’s output only as fast as it is read', async () => {
    const bomb = await tool('zstd', ['-c', '-19'], Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const decompress = await createZstdDecompressStream();
    decompress.end(bomb);
    // Nobody reads: the stream must stop near its buffer size instead of expanding all 50 MB.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(decompress.readableLength).toBeLessThanOrEqual(decompress.readableHighWaterMark + 1024 * 1024);
    let total = 0;
    for await (const chunk of decompress) total += (chunk as Buffer).length;
    expect(total).toBe(50 * 1024 * 1024);
  });
});

describe('zstdDecompressBuffer (zip method-93 entries)', () => {
  it('restores a frame made by the zstd CLI', async () => {
    const original = Buffer.concat([randomBytes(300_000), Buffer.alloc(300_000, 7)]);
    const frame = await tool('zstd', ['-c', '-5'], original);
    expect((await zstdDecompressBuffer(frame, original.length)).equals(original)).toBe(true);
  });

  it('refuses a 50 MB bomb against a 1 MB limit without allocating its output', async () => {
    const bomb = await tool('zstd', ['-c', '-19'], Buffer.alloc(50 * 1024 * 1024));
    const before = process.memoryUsage().arrayBuffers;
    const error = await rejection(zstdDecompressBuffer(bomb, 1024 * 1024));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(error.code).toBe('ARCHIVE_LIMIT_EXCEEDED');
    expect(error.message).toBe('the zstd entry expands to more than 1048576 bytes');
    expect(grown).toBeLessThan(8 * 1024 * 1024);
  });

  it('does not trust a frame header that declares a huge content size', async () => {
    // The CLI reading stdin writes no content size; give the frame an 8-byte field declaring 1 TiB.
    const original = Buffer.alloc(2 * 1024 * 1024, 1);
    const frame = await tool('zstd', ['-c'], original);
    const descriptor = frame[4] as number;
    expect(descriptor & 0xe3).toBe(0x00 | (descriptor & 0x03)); // no content size, not single-segment, no dict id
    expect(descriptor & 0x03).toBe(0);
    const declared = Buffer.alloc(8);
    declared.writeBigUInt64LE(1n << 40n);
    const lying = Buffer.concat([
      frame.subarray(0, 4),
      Buffer.from([descriptor | 0xc0]),
      frame.subarray(5, 6),
      declared,
      frame.subarray(6),
    ]);
    const before = process.memoryUsage().arrayBuffers;
    const error = await rejection(zstdDecompressBuffer(lying, 1000));
    expect(error.code).toBe('ARCHIVE_LIMIT_EXCEEDED');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
    // With room for the real content, the size mismatch at the frame's end is corruption.
    expect((await rejection(zstdDecompressBuffer(lying, 4 * 1024 * 1024))).code).toBe('ARCHIVE_CORRUPT');
    // The honest frame, exactly at the limit, is fine.
    expect((await zstdDecompressBuffer(frame, original.length)).equals(original)).toBe(true);
  });

  it('refuses garbage as ARCHIVE_CORRUPT and a cut frame as ARCHIVE_TRUNCATED', async () => {
    expect((await rejection(zstdDecompressBuffer(randomBytes(1000), 1 << 20))).code).toBe('ARCHIVE_CORRUPT');
    const frame = await tool('zstd', ['-c'], randomBytes(100_000));
    expect((await rejection(zstdDecompressBuffer(frame.subarray(0, frame.length - 10), 1 << 20))).code).toBe(
      'ARCHIVE_TRUNCATED',
    );
    const flipped = Buffer.from(frame);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 0xff; // the content checksum
    expect((await rejection(zstdDecompressBuffer(flipped, 1 << 20))).code).toBe('ARCHIVE_CORRUPT');
  });
});

describe('file inputs', () => {
  it('reads a .zst file written by the CLI', async () => {
    const path = join(work, 'plain.txt');
    await writeFile(path, 'line\n'.repeat(10_000));
    await run('zstd', ['-q', '-f', path, '-o', `${path}.zst`]);
    const restored = await zstdDecompressBuffer(await readFile(`${path}.zst`), 1 << 20);
    expect(restored.toString()).toBe('line\n'.repeat(10_000));
  });
});
