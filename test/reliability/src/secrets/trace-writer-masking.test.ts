// job-runtime's trace writer: masked values never reach the sink, whatever the chunking (split across writes, inside
// multi-byte characters), the ANSI sequences around them, the timestamps, or the output limit.
import { MASKED, TraceWriter } from '@runnerkit/job-runtime';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { count } from '../support/count.js';
import { flushFuzzCases, fuzzCase, fuzzParameters } from '../support/fuzz.js';
import { findLeak, secretArbitrary } from '../support/secrets.js';

afterAll(flushFuzzCases);

const ANSI = ['\x1b[31m', '\x1b[0m', '\x1b[0K', '\x1b[1;32m', '\x1b[38;5;196m', '\r', '\x1b]8;;http://x\x07'];
const FILLER = [' ', '-', '.', '\n', 'é', '✓', '😀', '\t', '12', '::'];

type Piece = { kind: 'secret'; index: number } | { kind: 'text'; text: string };

const pieces = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.nat({ max: 7 }).map((index): Piece => ({ kind: 'secret', index })) },
    { weight: 3, arbitrary: fc.constantFrom(...ANSI, ...FILLER).map((text): Piece => ({ kind: 'text', text })) },
  ),
  { minLength: 1, maxLength: 60 },
);

function render(list: readonly Piece[], secrets: readonly string[]): string {
  return list
    .map((piece) => (piece.kind === 'secret' ? (secrets[piece.index % secrets.length] as string) : piece.text))
    .join('');
}

/** Splits bytes at the given fractions (points may fall inside a UTF-8 character or a secret). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    if (point <= start) continue;
    out.push(bytes.subarray(start, point));
    start = point;
  }
  out.push(bytes.subarray(start));
  return out;
}

async function writeThrough(
  chunks: readonly Uint8Array[],
  secrets: readonly string[],
  options: { timestamps: boolean; outputLimit?: number; stderrEvery?: number },
): Promise<{ stored: string; truncated: boolean }> {
  const stored: Uint8Array[] = [];
  const writer = new TraceWriter({
    sink: { write: (chunk) => void stored.push(Uint8Array.from(chunk)) },
    masking: { phrases: secrets },
    timestamps: options.timestamps,
    outputLimit: options.outputLimit,
    clock: () => 1_778_000_000_000.5,
  });
  writer.info('Running with runnerkit');
  for (const chunk of chunks) writer.write(chunk, 'stdout');
  const summary = await writer.close();
  const text = Buffer.concat(stored).toString('utf8');
  expect(Buffer.byteLength(text)).toBe(summary.bytesize);
  count('traceBytesChecked', summary.bytesize);
  return { stored: text, truncated: summary.truncated };
}

describe('trace writer masking', () => {
  it('split across writes, next to ANSI sequences and multi-byte characters: exactly the masked text is stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(secretArbitrary, { minLength: 1, maxLength: 8 }),
        pieces,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
        async (secrets, list, cuts) => {
          fuzzCase();
          const text = render(list, secrets);
          const { stored } = await writeThrough(split(Buffer.from(text), cuts), secrets, { timestamps: false });
          const leak = findLeak(stored, secrets);
          expect(leak).toBeUndefined();
          let expected = text;
          for (const secret of [...secrets].sort((a, b) => b.length - a.length))
            expected = expected.replaceAll(secret, MASKED);
          const head = (await writeThrough([], secrets, { timestamps: false })).stored;
          expect(stored).toBe(head + expected);
        },
      ),
      fuzzParameters(400),
    );
  });

  it('with timestamps and at the output limit: no fragment of a secret is stored, the limit notice is', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(secretArbitrary, { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 3_000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
        fc.boolean(),
        async (secrets, fillerBytes, cuts, timestamps) => {
          fuzzCase();
          // the secret straddles the limit: filler up to near it, then secrets back to back
          const text = `${'-'.repeat(fillerBytes)}${secrets.join('')}${secrets.join('\x1b[0m')}\n`.repeat(6);
          const limit = 100 + Math.floor(fillerBytes / 2);
          const { stored, truncated } = await writeThrough(split(Buffer.from(text), cuts), secrets, {
            timestamps,
            outputLimit: limit,
          });
          expect(findLeak(stored, secrets)).toBeUndefined();
          expect(truncated).toBe(true);
          expect(stored).toContain(`Job's log exceeded limit of ${limit} bytes.`);
        },
      ),
      fuzzParameters(300),
    );
  });

  it('a secret is caught when it is written one byte at a time on both streams', async () => {
    const secret = 'bcdfghijlnopqrtu';
    const stored: Uint8Array[] = [];
    const writer = new TraceWriter({
      sink: { write: (chunk) => void stored.push(Uint8Array.from(chunk)) },
      masking: { phrases: [secret] },
      timestamps: true,
    });
    for (const byte of Buffer.from(`out ${secret}\n`)) writer.write(Uint8Array.of(byte), 'stdout');
    for (const byte of Buffer.from(`err \x1b[31m${secret}\x1b[0m\n`)) writer.write(Uint8Array.of(byte), 'stderr');
    await writer.close();
    const text = Buffer.concat(stored).toString('utf8');
    expect(text).not.toContain(secret.slice(0, 8));
    expect(text.match(/\[MASKED\]/g)).toHaveLength(2);
  });
});
