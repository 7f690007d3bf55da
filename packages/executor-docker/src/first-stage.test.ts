// The first stage through PID 1: the framed program run by a real shell, its output cut at the markers however
// the bytes are split, and the exit code read from the end marker.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { framedProgram, MarkedStream } from './first-stage.js';

const nonce = '0123456789abcdef';
const begin = Buffer.from(`\x1eRKB${nonce}\x1e`);
const end = Buffer.from(`\x1eRKE${nonce}:`);

function cut(bytes: Buffer, pieceSize: number) {
  const parts: Buffer[] = [];
  const stream = new MarkedStream(begin, end, (data) => parts.push(Buffer.from(data)));
  for (let offset = 0; offset < bytes.length; offset += pieceSize)
    stream.push(bytes.subarray(offset, offset + pieceSize));
  return { text: Buffer.concat(parts).toString(), value: stream.value, done: stream.done };
}

describe('first stage through PID 1', () => {
  it('a shell running the framed program: output between the markers, the subshell’s exit code, stdin empty', () => {
    const script = 'echo "out $(echo nested)"\necho err >&2\nread line || echo stdin-empty\nexit 3';
    // what PID 1 prints before the stage (an entrypoint, say) is not the stage's output
    const run = spawnSync('sh', ['-c', 'echo entrypoint noise; echo noise >&2; exec sh'], {
      input: framedProgram(script, nonce),
    });
    const stdout = cut(run.stdout, 1_000_000);
    const stderr = cut(run.stderr, 1_000_000);
    expect(stdout).toEqual({ text: 'out nested\nstdin-empty\n', value: '3', done: true });
    expect(stderr).toEqual({ text: 'err\n', value: '', done: true });
    // the shell goes on reading after the stage
    expect(run.status).toBe(0);
  });

  it('markers split across pieces, and RS bytes in the output, are handled', () => {
    const bytes = Buffer.concat([
      Buffer.from('before'),
      begin,
      Buffer.from('a\x1eb\nline two\n'),
      end,
      Buffer.from('17\x1e'),
      Buffer.from('after'),
    ]);
    for (const size of [1, 2, 3, 7, 64])
      expect(cut(bytes, size)).toEqual({ text: 'a\x1eb\nline two\n', value: '17', done: true });
    expect(cut(Buffer.concat([begin, Buffer.from('no end yet')]), 4)).toMatchObject({ done: false });
  });
});
