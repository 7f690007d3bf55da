// The file-backed trace store on its own: what is on disk, what stays in memory, reads interleaved with appends,
// and what happens when the disk fails (a full tmpfs, a directory removed or unusable).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobApiError } from './errors.js';
import { TraceSpool } from './trace-spool.js';

const MiB = 1024 * 1024;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rk-trace-spool-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Appends `data` in chunks of varying size (as a job's output arrives). */
function appendInChunks(spool: TraceSpool, data: Buffer, seed = 1): void {
  let at = 0;
  let n = seed;
  while (at < data.length) {
    n = (n * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (n % (96 * 1024));
    spool.append(data.subarray(at, at + size));
    at += size;
  }
}

/** Reads the whole trace back the way the uploader does: 1 MiB slices from `start`. */
async function readAll(spool: TraceSpool, start = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let at = start; at < spool.length; at += MiB) parts.push(await spool.slice(at, MiB));
  return Buffer.concat(parts);
}

describe('TraceSpool', () => {
  it('keeps the trace in a 0600 file, only the unwritten tail in memory, and removes the file on close', async () => {
    const data = randomBytes(10 * MiB + 12_345);
    const spool = new TraceSpool({ directory: join(dir, 'spool'), label: '42' });
    spool.append(data.subarray(0, 100)); // a trace under one block never touches the disk
    await spool.whenWritten();
    expect(spool.filePath).toBeUndefined();
    appendInChunks(spool, data.subarray(100));
    await spool.whenWritten();
    const path = spool.filePath as string;
    expect(path.startsWith(join(dir, 'spool', 'trace-42-'))).toBe(true);
    const info = await stat(path);
    expect(info.mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'spool'))).mode & 0o777).toBe(0o700);
    expect(info.size).toBe(10 * MiB);
    expect(spool.memoryBytes).toBe(MiB);
    expect(spool.storage).toBe('file');
    expect(spool.length).toBe(data.length);
    expect(spool.checksum).toBe(`crc32:${crc32(data).toString(16).padStart(8, '0')}`);
    expect((await readAll(spool)).equals(data)).toBe(true);
    // a range across the file and the tail in memory, and one from the middle of the file
    expect((await spool.slice(10 * MiB - 5, 10)).equals(data.subarray(10 * MiB - 5, 10 * MiB + 5))).toBe(true);
    expect((await spool.slice(3 * MiB + 7, 1000)).equals(data.subarray(3 * MiB + 7, 3 * MiB + 1007))).toBe(true);
    await spool.close();
    await spool.close();
    expect(await readdir(join(dir, 'spool'))).toEqual([]);
    expect(spool.length).toBe(data.length);
    await expect(spool.slice(0, 10)).rejects.toMatchObject({ code: 'JOB_API_TRACE_CLOSED' });
    expect(() => spool.append('x')).toThrow(expect.objectContaining({ code: 'JOB_API_TRACE_CLOSED' }));
  });

  it('any interleaving of appends and slices (awaited or not) reads back exactly the appended bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 0, max: 3000 }) }),
            fc.record({
              kind: fc.constant('slice' as const),
              from: fc.double({ min: 0, max: 1, noNaN: true }),
              max: fc.integer({ min: 1, max: 5000 }),
              wait: fc.boolean(),
            }),
            fc.constant({ kind: 'settle' as const }),
          ),
          { maxLength: 60 },
        ),
        async (ops) => {
          const spool = new TraceSpool({ directory: dir, blockBytes: 512, maxQueuedBytes: 2048 });
          const reference: Buffer[] = [];
          let length = 0;
          const pending: Promise<void>[] = [];
          for (const op of ops) {
            if (op.kind === 'append') {
              const bytes = randomBytes(op.size);
              spool.append(bytes);
              reference.push(bytes);
              length += op.size;
            } else if (op.kind === 'settle') {
              await spool.whenWritten();
            } else {
              const start = Math.floor(op.from * length);
              const expected = Buffer.concat(reference).subarray(start, start + op.max);
              const check = Promise.resolve(spool.slice(start, op.max)).then((bytes) => {
                expect(bytes.equals(expected)).toBe(true);
              });
              if (op.wait) await check;
              else pending.push(check);
            }
          }
          await Promise.all(pending);
          expect((await readAll(spool)).equals(Buffer.concat(reference))).toBe(true);
          await spool.close();
          expect(await readdir(dir)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a burst of appends faster than the disk is written synchronously beyond maxQueuedBytes', async () => {
    const spool = new TraceSpool({ directory: dir, maxQueuedBytes: 4 * MiB });
    const data = randomBytes(40 * MiB);
    spool.append(data.subarray(0, MiB));
    await spool.whenWritten();
    let peak = 0;
    for (let at = MiB; at < data.length; at += 256 * 1024) {
      spool.append(data.subarray(at, at + 256 * 1024)); // no await: the background writer never gets a turn
      peak = Math.max(peak, spool.memoryBytes);
    }
    expect(peak).toBeLessThanOrEqual(5 * MiB);
    await spool.whenWritten();
    expect((await readAll(spool)).equals(data)).toBe(true);
    await spool.close();
  });

  it('a directory that cannot be used: falls back to memory once, with JOB_API_TRACE_SPOOL_FAILED', async () => {
    const notADirectory = join(dir, 'file');
    await writeFile(notADirectory, 'x');
    const errors: JobApiError[] = [];
    const spool = new TraceSpool({ directory: join(notADirectory, 'spool'), onFallback: (e) => errors.push(e) });
    const data = randomBytes(3 * MiB + 5);
    appendInChunks(spool, data);
    await spool.whenWritten();
    appendInChunks(spool, data, 7);
    await spool.whenWritten();
    expect(spool.storage).toBe('memory');
    expect(errors.map((e) => [e.code, (e.cause as NodeJS.ErrnoException).code])).toEqual([
      ['JOB_API_TRACE_SPOOL_FAILED', 'ENOTDIR'],
    ]);
    expect((await readAll(spool)).equals(Buffer.concat([data, data]))).toBe(true);
    await spool.close();
  });

  it('its directory removed mid-job: the open file keeps working, close does not fail, nothing is recreated', async () => {
    const directory = join(dir, 'spool');
    const errors: JobApiError[] = [];
    const spool = new TraceSpool({ directory, onFallback: (e) => errors.push(e) });
    const data = randomBytes(8 * MiB);
    appendInChunks(spool, data.subarray(0, 4 * MiB));
    await spool.whenWritten();
    await rm(directory, { recursive: true, force: true });
    appendInChunks(spool, data.subarray(4 * MiB));
    await spool.whenWritten();
    expect(spool.storage).toBe('file');
    expect(errors).toEqual([]);
    expect((await readAll(spool)).equals(data)).toBe(true);
    await spool.close();
    expect(await readdir(dir)).toEqual([]);
  });
});

/** A 2 MiB tmpfs: a real full disk. Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped loudly. */
function mountTinyTmpfs(path: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', path], { stdio: 'pipe' });
    return true;
  } catch (error) {
    console.warn(`SKIPPED: cannot mount a tmpfs for the full-disk case (${(error as Error).message.split('\n')[0]})`);
    return false;
  }
}

describe('TraceSpool on a full disk', () => {
  it('ENOSPC: what reached the file is read from it, the rest stays in memory, nothing is left', async (context) => {
    const mountPoint = join(dir, 'tiny');
    execFileSync('mkdir', [mountPoint]);
    if (!mountTinyTmpfs(mountPoint)) return context.skip();
    const errors: JobApiError[] = [];
    const spool = new TraceSpool({ directory: mountPoint, onFallback: (e) => errors.push(e) });
    try {
      const data = randomBytes(6 * MiB + 99);
      appendInChunks(spool, data);
      await spool.whenWritten();
      expect(spool.storage).toBe('memory');
      expect(errors.map((e) => [e.code, (e.cause as NodeJS.ErrnoException).code])).toEqual([
        ['JOB_API_TRACE_SPOOL_FAILED', 'ENOSPC'],
      ]);
      expect(errors[0]?.message).toContain('keeping the rest of the trace in memory');
      expect((await readAll(spool)).equals(data)).toBe(true);
      expect((await readAll(spool, 1234)).equals(data.subarray(1234))).toBe(true);
      await spool.close();
      expect(await readdir(mountPoint)).toEqual([]);
    } finally {
      await spool.close();
      // lazy: a file a failed assertion left open must not keep the mount alive
      execFileSync('umount', ['-l', mountPoint]);
    }
  });
});

describe('TraceSpool directory creation', () => {
  it('a directory the kernel refuses (ENOENT under /proc): falls back instead of hanging', async () => {
    const errors: JobApiError[] = [];
    const spool = new TraceSpool({ directory: '/proc/rk-trace-spool/a', onFallback: (e) => errors.push(e) });
    spool.append(randomBytes(2 * MiB));
    await spool.whenWritten();
    expect(errors.map((e) => [e.code, (e.cause as NodeJS.ErrnoException).code])).toEqual([
      ['JOB_API_TRACE_SPOOL_FAILED', 'ENOENT'],
    ]);
    await spool.close();
  }, 5_000);

  it('creates missing parents with mode 0700', async () => {
    const spool = new TraceSpool({ directory: join(dir, 'a', 'b', 'c') });
    spool.append(randomBytes(MiB));
    await spool.whenWritten();
    expect(((await stat(join(dir, 'a'))).mode & 0o777).toString(8)).toBe('700');
    expect(await readdir(join(dir, 'a', 'b', 'c'))).toHaveLength(1);
    await spool.close();
    expect(await readdir(join(dir, 'a', 'b', 'c'))).toEqual([]);
  });
});
