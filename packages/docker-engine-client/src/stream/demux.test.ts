import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DockerError } from '../errors.js';
import { demultiplex, demultiplexTo, encodeFrame, FrameParser, readFrames, type StreamKind } from './demux.js';

function chunkAt(buffer: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buffer.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    chunks.push(buffer.subarray(last, p));
    last = p;
  }
  chunks.push(buffer.subarray(last));
  return chunks;
}

async function collect(source: Iterable<Buffer> | AsyncIterable<Buffer>, mode: 'auto' | 'multiplexed' | 'raw') {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for await (const piece of readFrames(source as AsyncIterable<Buffer>, mode)) {
    (piece.stream === 'stderr' ? err : out).push(piece.data);
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

const frameArb = fc.record({
  stream: fc.constantFrom<StreamKind>('stdout', 'stderr'),
  data: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a)),
});

describe('demultiplexing 8-byte-header frames', () => {
  test('reassembles stdout and stderr byte-exactly under any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.data)));
          const expected = {
            stdout: Buffer.concat(frames.filter((f) => f.stream === 'stdout').map((f) => f.data)),
            stderr: Buffer.concat(frames.filter((f) => f.stream === 'stderr').map((f) => f.data)),
          };
          const got = await collect(chunkAt(wire, cuts), 'multiplexed');
          expect(got.stdout.equals(expected.stdout)).toBe(true);
          expect(got.stderr.equals(expected.stderr)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('auto mode detects framing from the first header, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.data)));
          const got = await collect(chunkAt(wire, cuts), 'auto');
          expect(got.stdout.length + got.stderr.length).toBe(frames.reduce((n, f) => n + f.data.length, 0));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('auto mode passes TTY (raw) output through untouched, including short outputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 0, maxLength: 200 }).filter((s) => s.length === 0 || s.charCodeAt(0) > 3),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (text, cuts) => {
          const wire = Buffer.from(text);
          const got = await collect(chunkAt(wire, cuts), 'auto');
          expect(got.stdout.equals(wire)).toBe(true);
          expect(got.stderr.length).toBe(0);
        },
      ),
    );
  });

  test('a stream cut inside a frame is a protocol error, not silent loss', async () => {
    const wire = Buffer.concat([
      encodeFrame('stdout', Buffer.from('hello')),
      encodeFrame('stderr', Buffer.from('world')),
    ]);
    await expect(collect([wire.subarray(0, wire.length - 2)], 'multiplexed')).rejects.toMatchObject({
      code: 'DOCKER_PROTOCOL_ERROR',
      message: 'multiplexed stream ended inside a frame (2 payload bytes missing)',
    });
  });

  test('an invalid header in the middle of a multiplexed stream is a protocol error', () => {
    const parser = new FrameParser('multiplexed');
    parser.push(encodeFrame('stdout', Buffer.from('ok')));
    expect(() => parser.push(Buffer.from('garbage!'))).toThrowError(
      'invalid stream frame header 6761726261676521 at byte 10 of a multiplexed stream',
    );
  });

  test('demultiplex() into two Readables keeps order and bytes', async () => {
    const frames = Array.from({ length: 200 }, (_, i) => ({
      stream: (i % 3 === 0 ? 'stderr' : 'stdout') as StreamKind,
      data: Buffer.from(`line ${i}\n`.repeat(i % 7)),
    }));
    const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.data)));
    const { stdout, stderr } = demultiplex(Readable.from(chunkAt(wire, [3, 17, 900, 901, 2000])));
    const read = async (r: Readable) => {
      const parts: Buffer[] = [];
      for await (const c of r) parts.push(c as Buffer);
      return Buffer.concat(parts).toString();
    };
    const [out, err] = await Promise.all([read(stdout), read(stderr)]);
    expect(out).toBe(
      frames
        .filter((f) => f.stream === 'stdout')
        .map((f) => f.data.toString())
        .join(''),
    );
    expect(err).toBe(
      frames
        .filter((f) => f.stream === 'stderr')
        .map((f) => f.data.toString())
        .join(''),
    );
  });

  test('a framing error destroys both demultiplexed outputs with a typed error', async () => {
    const { stdout, stderr } = demultiplex(
      Readable.from([encodeFrame('stdout', Buffer.from('x')), Buffer.from('\x01\x00\x00')]),
      'multiplexed',
    );
    stdout.resume();
    stderr.resume();
    const errors = await Promise.all([
      new Promise<unknown>((resolve) => stdout.once('error', resolve)),
      new Promise<unknown>((resolve) => stderr.once('error', resolve)),
    ]);
    expect(errors.map((e) => DockerError.isInstance(e) && e.code)).toEqual([
      'DOCKER_PROTOCOL_ERROR',
      'DOCKER_PROTOCOL_ERROR',
    ]);
  });
});

describe('backpressure', () => {
  test('a slow consumer bounds how far the source is read ahead', async () => {
    // An endless source of 64 KiB frames; count how much of it the demultiplexer pulled.
    let produced = 0;
    const frame = encodeFrame('stdout', Buffer.alloc(64 * 1024, 0x61));
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        produced += frame.length;
        this.push(frame);
      },
    });
    const { stdout, stderr } = demultiplex(source, 'multiplexed');
    stderr.resume();
    let consumed = 0;
    for await (const chunk of stdout) {
      consumed += (chunk as Buffer).length;
      await sleep(2);
      if (consumed >= 4 * 1024 * 1024) break;
    }
    // read-ahead stays within a few buffers (source + parser + output high-water marks), not the 4 MiB consumed
    expect(produced - consumed).toBeLessThan(1024 * 1024);
  });

  test('demultiplexTo waits for a slow Writable and delivers every byte in order', async () => {
    const frames: Buffer[] = [];
    const hash = createHash('sha256');
    for (let i = 0; i < 500; i++) {
      const data = Buffer.from(`${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26))));
      hash.update(data);
      frames.push(encodeFrame('stdout', data));
    }
    const got = createHash('sha256');
    let maxBuffered = 0;
    const slow = new Writable({
      highWaterMark: 4096,
      write(chunk: Buffer, _enc, done) {
        got.update(chunk);
        setImmediate(done);
      },
    });
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const tracker = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, slow.writableLength);
    }, 1);
    await demultiplexTo(Readable.from(frames), slow, sink, 'multiplexed');
    clearInterval(tracker);
    expect(got.digest('hex')).toBe(hash.digest('hex'));
    expect(maxBuffered).toBeLessThan(64 * 1024);
  });
});
