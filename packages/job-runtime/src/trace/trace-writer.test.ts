import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryTraceSink } from '../testing/conformance.js';
import { formatTimestamp, TraceWriter } from './writer.js';

// A clock that advances one microsecond per reading, from 2026-05-08T09:28:47.185090Z.
function fakeClock(): () => number {
  let now = Date.UTC(2026, 4, 8, 9, 28, 47, 185) + 0.09;
  return () => {
    now += 0.001;
    return now;
  };
}

describe('timestamped framing (FF_TIMESTAMPS)', () => {
  it('formats UTC with microseconds', () => {
    expect(formatTimestamp(Date.UTC(2026, 4, 8, 9, 28, 47, 185) + 0.09)).toBe('2026-05-08T09:28:47.185090Z');
  });

  it('prefixes lines per stream, closes marker-only writes and flags continuations', async () => {
    const sink = new MemoryTraceSink();
    const trace = new TraceWriter({ sink, masking: { phrases: [] }, timestamps: true, clock: fakeClock() });
    trace.sectionStart('restore_cache');
    trace.println('\x1b[36;1mRestoring cache\x1b[0;m');
    trace.write('partial ', 'stdout');
    trace.write('line\nerr\n', 'stderr');
    trace.write('rest\n', 'stdout');
    trace.write('progress 50%\r', 'stdout');
    trace.write('progress 100%\n', 'stdout');
    trace.flushStreams();
    await trace.close();
    expect(sink.text.replace(/\x1b/g, '\\e').replace(/\r/g, '\\r')).toMatchInlineSnapshot(`
      "2026-05-08T09:28:47.185092Z 00O section_start:1778232527:restore_cache\\r\\e[0K
      2026-05-08T09:28:47.185093Z 00O+\\e[0K\\e[36;1mRestoring cache\\e[0;m\\e[0;m
      2026-05-08T09:28:47.185094Z 01E line
      2026-05-08T09:28:47.185094Z 01E err
      2026-05-08T09:28:47.185095Z 01O partial rest
      2026-05-08T09:28:47.185096Z 01O progress 50%\\r
      2026-05-08T09:28:47.185097Z 01O+progress 100%
      "
    `);
  });
});

describe('output limit', () => {
  it('cuts at the limit on a UTF-8 boundary, appends GitLab notice once and drops the rest', async () => {
    const sink = new MemoryTraceSink();
    const trace = new TraceWriter({ sink, masking: { phrases: [] }, timestamps: false, outputLimit: 10 });
    trace.write('12345678é9ab\n');
    trace.write('more output\n');
    const summary = await trace.close();
    expect(sink.text).toBe(
      "12345678é\n\x1b[33;1mJob's log exceeded limit of 10 bytes.\nJob execution will continue but no more output will be collected.\x1b[0;m\n",
    );
    expect(summary.truncated).toBe(true);
    expect(summary.bytesize).toBe(sink.bytes.length);
  });
});

describe('checksum, byte count and the sink', () => {
  it('gives the sink every byte once and in order, with crc32 and size of exactly those bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }),
        fc.boolean(),
        async (chunks, timestamps) => {
          const received: Uint8Array[] = [];
          let delay = 0;
          // A slow, uneven sink: writes must still arrive in order.
          const sink = {
            write: (chunk: Uint8Array) =>
              new Promise<void>((resolve) => {
                received.push(chunk);
                setTimeout(resolve, delay++ % 3);
              }),
          };
          const trace = new TraceWriter({ sink, masking: { phrases: ['s3cr3t'] }, timestamps, clock: fakeClock() });
          for (const chunk of chunks) trace.write(chunk, 'stdout');
          const summary = await trace.close();
          const all = Buffer.concat(received);
          expect(summary.bytesize).toBe(all.length);
          expect(summary.checksum).toBe(`crc32:${crc32(all).toString(16).padStart(8, '0')}`);
          if (!timestamps) {
            const expected = new TextDecoder().decode(Buffer.concat(chunks)).replaceAll('s3cr3t', '[MASKED]');
            expect(all.toString('utf8')).toBe(expected);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('replaces invalid UTF-8, also when a character is split across writes', async () => {
    const sink = new MemoryTraceSink();
    const trace = new TraceWriter({ sink, masking: { phrases: [] }, timestamps: false });
    const euro = Buffer.from('€');
    trace.write(euro.subarray(0, 1));
    trace.write(Buffer.concat([euro.subarray(1), Buffer.from([0xff, 0x41, 0x0a])]));
    await trace.close();
    expect(sink.text).toBe('€\uFFFDA\n');
  });
});
