import { describe, expect, it } from 'vitest';
import { PrefixedPrinter, summaryTable } from './output.js';

function capture() {
  const lines: string[] = [];
  return { lines, out: { write: (chunk: string) => lines.push(chunk) } };
}

describe('exec output', () => {
  it('prints trace lines with a job prefix, without timestamps, section markers or colours', () => {
    const { lines, out } = capture();
    const printer = new PrefixedPrinter(out, false, ['build', 'test']);
    printer.name(1, 'build');
    printer.write(
      1,
      '2026-01-01T00:00:00.000000Z 00O section_start:1:step_script\r\x1b[0K\n2026-01-01T00:00:00.000001Z 00O+\x1b[0K\x1b[36;1mExecuting "step_script" stage of the job script\x1b[0;m\x1b[0;m\n2026-01-01T00:00:00.1Z 01O \x1b[32;1m$ echo hi\x1b[0;m\n2026-01-01T00:00:00.1Z 01O h',
    );
    printer.write(1, 'i\n');
    printer.write(1, 'progress 10%\rprogress 100%\n');
    printer.write(1, 'no newline');
    printer.flush(1);
    expect(lines.join('')).toMatchInlineSnapshot(`
      "build | Executing "step_script" stage of the job script
      build | $ echo hi
      build | hi
      build | progress 100%
      build | no newline
      "
    `);
  });

  it('prints the summary as aligned columns', () => {
    expect(
      summaryTable(
        [
          { job: 'build', stage: 'build', status: 'success', durationMs: 1234 },
          { job: 'a long job name', stage: 'test', status: 'failed', durationMs: 61_000, note: '2 attempts' },
          { job: 'deploy', stage: 'deploy', status: 'manual', durationMs: undefined },
        ],
        false,
      ),
    ).toMatchInlineSnapshot(`
      "job              stage   status   duration
      build            build   success  1.2s
      a long job name  test    failed   1m1s  2 attempts
      deploy           deploy  manual   -
      "
    `);
  });
});
