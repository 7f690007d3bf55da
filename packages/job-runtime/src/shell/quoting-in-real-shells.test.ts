import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { JobVariables } from '../variables/variables.js';
import { quote } from './quote.js';
import { stepScript } from './stages.js';
import { ScriptWriter } from './writer.js';

const SHELLS = [
  { name: 'bash', command: ['bash'], shell: 'bash' as const },
  { name: 'busybox sh', command: ['/bin/busybox', 'sh'], shell: 'sh' as const },
];
const root = mkdtempSync(join(tmpdir(), 'job-runtime-quote-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(command: readonly string[], script: string, cwd = root): { status: number | null; stdout: Buffer } {
  const result = spawnSync(command[0]!, command.slice(1), {
    input: script,
    cwd,
    env: { PATH: '/usr/bin:/bin' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout };
}

// Any Unicode text except NUL (no shell string can hold it); lone surrogates become U+FFFD when encoded.
const word = fc.string({ unit: 'binary', maxLength: 40 }).map((text) => text.replaceAll('\0', ''));
// Every single byte value 1..255 (as a character), alone and next to the characters quoting treats specially.
const everyByte = Array.from({ length: 255 }, (_, index) => String.fromCharCode(index + 1));

describe.each(SHELLS)('quoting survives every value in real $name', ({ command }) => {
  for (const style of ['ansi-c', 'posix'] as const) {
    it(`${style}: every byte value 1..255, and random Unicode words`, () => {
      const check = (values: readonly string[]) => {
        const script = values.map((value) => `printf '%s\\036' ${quote(value, style)}`).join('\n');
        const result = run(command, `${script}\n`);
        expect(result.status).toBe(0);
        const expected = values.map((value) => `${value}\u001e`).join('');
        expect(result.stdout.toString('utf8')).toBe(Buffer.from(expected, 'utf8').toString('utf8'));
      };
      check([...everyByte, everyByte.join(''), `$'x'`, '"\\"', "'", '\\x41', '$' + '{HOME}', '`id`', '$(id)']);
      fc.assert(
        fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), (values) => check(values)),
        { numRuns: 25 },
      );
    });
  }
});

describe.each(SHELLS)('generated stage scripts in real $name', ({ command, shell }) => {
  it('exports every variable (normal and file) byte for byte and exits with the last command status', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(word, fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (entries, exitCode, posixEscapes) => {
          const projectDir = join(root, `${shell}-project`);
          const tmpDir = `${projectDir}.tmp`;
          const variables = new JobVariables(
            entries.map(([value, file], index) => ({ key: `V${index}`, value, file })),
            tmpDir,
          );
          const out = join(root, `${shell}-values.bin`);
          rmSync(out, { force: true });
          const commands = [
            ...entries.map(([, file], index) =>
              file ? `cat "$V${index}" >> ${out}; printf '\\036' >> ${out}` : `printf '%s\\036' "$V${index}" >> ${out}`,
            ),
            `exit ${exitCode}`,
          ];
          // The project dir must exist before the script's `cd`; the first stage creates it.
          run(command, `mkdir -p "${projectDir}"\n`);
          const script = stepScript(
            { variables, directories: { projectDir, tmpDir }, style: { shell, posixEscapes } },
            commands,
          );
          const result = run(command, script);
          expect(result.status).toBe(exitCode);
          const expected = entries.map(([value]) => `${value}\u001e`).join('');
          expect(readFileSync(out).toString('utf8')).toBe(Buffer.from(expected, 'utf8').toString('utf8'));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('stops at the first failing command (errexit), including a failing pipeline stage', () => {
    const w = new ScriptWriter({ shell });
    w.userCommands(['echo one', 'false | true', 'echo two', 'exit 7'], 'script_step');
    const result = run(command, w.finish());
    // `pipefail` is on where the shell has it (bash, busybox): `false | true` fails the script with 1.
    expect(result.status).toBe(1);
    expect(result.stdout.toString()).toContain('one\n');
    expect(result.stdout.toString()).not.toContain('two\n');
  });
});

describe.each(SHELLS)('script sections and flags in real $name', ({ command, shell }) => {
  it('FF_SCRIPT_SECTIONS prints GitLab section markers around multi-line commands', () => {
    const projectDir = join(root, `${shell}-sections`);
    run(command, `mkdir -p "${projectDir}"\n`);
    const variables = new JobVariables([], `${projectDir}.tmp`);
    const script = stepScript(
      {
        variables,
        directories: { projectDir, tmpDir: `${projectDir}.tmp` },
        style: { shell, scriptSections: true, exitCodeCheck: true },
      },
      ['for i in 1 2; do\n  echo "n=$i"\ndone', 'false', 'echo unreachable'],
    );
    const result = run(command, script);
    expect(result.status).toBe(1);
    const output = result.stdout.toString().replace(/\d{10}/g, '<T>');
    expect(output.replace(/\x1b/g, '\\e').replace(/\r/g, '\\r')).toBe(
      [
        'section_start:<T>:section_script_step_0[hide_duration=true,collapsed=true]\\r\\e[0K\\e[32;1m$ for i in 1 2; do',
        '  echo "n=$i"',
        'done\\e[0;m',
        'n=1',
        'n=2',
        'section_end:<T>:section_script_step_0\\r\\e[0K',
        '\\e[32;1m$ false\\e[0;m',
        '',
      ].join('\n'),
    );
  });

  it('CI_DEBUG_TRACE turns on xtrace (on stderr)', () => {
    const w = new ScriptWriter({ shell, debugTrace: true });
    w.userCommands(['echo traced'], 'script_step');
    const result = spawnSync(command[0]!, command.slice(1), { input: w.finish(), env: { PATH: '/usr/bin:/bin' } });
    expect(result.status).toBe(0);
    expect(result.stderr.toString()).toContain('+ echo traced');
  });
});
