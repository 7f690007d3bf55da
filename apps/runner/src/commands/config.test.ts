import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConfigCommandIo, defaultConfigPath, registerConfigCommand } from './config.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'spec', 'fixtures', 'config');
const directory = mkdtempSync(join(tmpdir(), 'runnerkit-config-command-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  const io: ConfigCommandIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env,
    cwd: directory,
    homedir: join(directory, 'home'),
    isRoot: false,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = new Command().exitOverride();
  registerConfigCommand(program, io);
  await program.parseAsync(['config', ...args], { from: 'user' });
  return { stdout, stderr, exitCode };
}

function write(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

describe('runnerkit config validate', () => {
  it('prints every issue as FILE:LINE severity path code: message and exits 1 on an error', async () => {
    const file = write(
      'bad.toml',
      'concurrent = 1\n\n[[runners]]\n  name = "r"\n  url = "https://gitlab.example.com/"\n  token = "t"\n  executor = "docker"\n  imagee = 1\n  [runners.docker]\n    pull_policy = ["if-not-present", "Always"]\n',
    );
    const result = await run(['validate', '-c', file]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout.replaceAll(file, 'FILE')).toMatchInlineSnapshot(`
      "FILE:8 warning runners[0].imagee unknown_key: unknown key "imagee" (kept, but GitLab Runner ignores it)
      FILE:10 error runners[0].docker.pull_policy[1] invalid_enum: expected one of "always" | "if-not-present" | "never", found "Always"
      "
    `);
  });

  it('exits 0 with only warnings and prints JSON with --json', async () => {
    const file = write('warn.toml', 'concurrent = 1\nfuture_option = true\n');
    const result = await run(['validate', '--config', file, '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        severity: 'warning',
        path: 'future_option',
        code: 'unknown_key',
        message: 'unknown key "future_option" (kept, but GitLab Runner ignores it)',
        line: 2,
        column: 1,
      },
    ]);
  });

  it('reports TOML syntax errors with their line', async () => {
    const file = join(FIXTURES, 'invalid', 'toml-duplicate-key.toml');
    const result = await run(['validate', '-c', file]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`${file}:8 error <document> toml_syntax: invalid TOML at line 8`);
  });

  it('reads CONFIG_FILE, and -c wins over it', async () => {
    const good = write('good.toml', 'concurrent = 1\n');
    const bad = write('zero.toml', 'concurrent = 0\n');
    expect((await run(['validate'], { CONFIG_FILE: bad })).exitCode).toBe(1);
    expect((await run(['validate', '-c', good], { CONFIG_FILE: bad })).exitCode).toBe(0);
    expect((await run(['validate'], { CONFIG_FILE: 'good.toml' })).exitCode).toBe(0);
  });

  it('exits 1 naming the file when it cannot be read', async () => {
    const result = await run(['validate', '-c', join(directory, 'missing.toml')]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('missing.toml: cannot read the config file (ENOENT)');
  });
});

describe('runnerkit config show', () => {
  it.each(['cache-backends', 'feature-flags', 'unknown-keys', 'ssh-and-custom', 'registered-docker'])(
    '--json --show-secrets prints the fixture %s exactly',
    async (name) => {
      const result = await run(['show', '-c', join(FIXTURES, 'valid', `${name}.toml`), '--json', '--show-secrets']);
      const expected = JSON.parse(readFileSync(join(FIXTURES, 'valid', `${name}.expected.json`), 'utf8'));
      const document = JSON.parse(result.stdout);
      expect(result.exitCode).toBe(0);
      expect(document.config).toEqual(expected.config);
      expect(document.effective).toEqual(expected.effective);
      expect(document.warnings.map(({ path, code }: { path: string; code: string }) => ({ path, code }))).toEqual(
        expected.warnings,
      );
    },
  );

  it('redacts secrets without --show-secrets', async () => {
    const result = await run(['show', '-c', join(FIXTURES, 'valid', 'cache-backends.toml'), '--json']);
    const runners = JSON.parse(result.stdout).config.runners;
    expect(runners[0].token).toBe('[MASKED]');
    expect(runners[0].cache.s3.SecretKey).toBe('[MASKED]');
    expect(runners[0].cache.s3.BucketName).toBe('runners-cache');
    expect(runners[2].cache.azure.AccountKey).toBe('[MASKED]');
    expect(result.stdout).not.toContain('s3cr3t');
  });

  it('prints TOML by default and refuses an invalid file with exit 1', async () => {
    const shown = await run(['show', '-c', join(FIXTURES, 'valid', 'minimal-shell.toml')]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain('token = "[MASKED]"');
    const refused = await run(['show', '-c', join(FIXTURES, 'invalid', 'concurrent-zero.toml')]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('error concurrent out_of_range');
  });
});

describe('runnerkit config schema', () => {
  it('prints the JSON Schema', async () => {
    const result = await run(['schema']);
    expect(JSON.parse(result.stdout).properties.runners.type).toBe('array');
  });
});

describe('default config path', () => {
  it('is GitLab Runner’s: /etc/gitlab-runner as root, ~/.gitlab-runner otherwise', () => {
    const base = { env: {}, homedir: '/home/u', cwd: '/w' };
    expect(defaultConfigPath({ ...base, isRoot: true })).toBe('/etc/gitlab-runner/config.toml');
    expect(defaultConfigPath({ ...base, isRoot: false })).toBe('/home/u/.gitlab-runner/config.toml');
    expect(defaultConfigPath({ ...base, isRoot: false }, 'c.toml')).toBe('/w/c.toml');
  });
});
