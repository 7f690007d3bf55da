import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { parseConfig } from '@runnerkit/config-schema';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addLogOptions } from '../output/logger.js';
import { registerListCommand } from './list.js';
import { fillEmpty, type RunnerCommandIo, registerRegisterCommand } from './register.js';
import { registerUnregisterCommand, removeRunnerBlocks } from './unregister.js';
import { registerVerifyCommand } from './verify.js';

const directory = mkdtempSync(join(tmpdir(), 'runnerkit-register-'));
let coordinator: Coordinator;
let counter = 0;

beforeAll(async () => {
  coordinator = await createCoordinator();
});
afterAll(async () => {
  await coordinator.close();
  rmSync(directory, { recursive: true, force: true });
});

/** A config path in a new directory; the file exists only when `text` is given. */
function freshConfig(text?: string): string {
  const dir = join(directory, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'config.toml');
  if (text !== undefined) writeFileSync(file, text);
  return file;
}

async function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string | Readable; interrupt?: AbortSignal } = {},
) {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  const io: RunnerCommandIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { LOG_FORMAT: 'runner', ...options.env },
    cwd: directory,
    homedir: join(directory, 'home'),
    isRoot: false,
    hostname: 'test-host',
    machineId: async () => 'machine-id-for-tests',
    ...(options.stdin !== undefined
      ? { stdin: typeof options.stdin === 'string' ? Readable.from([options.stdin]) : options.stdin }
      : {}),
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = addLogOptions(new Command().exitOverride());
  registerRegisterCommand(program, io);
  registerVerifyCommand(program, io);
  registerUnregisterCommand(program, io);
  registerListCommand(program, io);
  await program.parseAsync(args, { from: 'user' });
  return { stdout, stderr, exitCode };
}

const read = (file: string) => readFileSync(file, 'utf8');

describe('runnerkit register', () => {
  it('registers with a legacy registration token (POST /runners) and appends a docker runner', async () => {
    const file = freshConfig();
    const result = await cli([
      'register',
      '-c',
      file,
      '--non-interactive',
      '--url',
      coordinator.url,
      '--registration-token',
      coordinator.registrationToken,
      '--name',
      'legacy-docker',
      '--executor',
      'docker',
      '--docker-image',
      'runnerkit-test/busybox:latest',
      '--docker-pull-policy',
      'if-not-present,never',
      '--tag-list',
      'docker,linux',
      '--locked=false',
    ]);
    expect(result.stderr).toContain('Runner registered successfully');
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain("Support for registration tokens and runner parameters in the 'register' command");
    expect(result.stderr).not.toContain(coordinator.registrationToken);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = parseConfig(read(file)).config;
    const runner = config.runners?.[0];
    expect(runner?.token).toMatch(/^glrtr-/);
    expect(result.stderr).not.toContain(runner?.token);
    expect({ ...runner, token: '<token>', token_obtained_at: '<now>', id: typeof runner?.id }).toMatchInlineSnapshot(`
      {
        "docker": {
          "image": "runnerkit-test/busybox:latest",
          "pull_policy": [
            "if-not-present",
            "never",
          ],
          "volumes": [
            "/cache",
          ],
        },
        "executor": "docker",
        "id": "number",
        "name": "legacy-docker",
        "token": "<token>",
        "token_expires_at": "0001-01-01T00:00:00Z",
        "token_obtained_at": "<now>",
        "url": "${coordinator.url}",
      }
    `);
    const server = coordinator.runners().find((entry) => entry.id === runner?.id);
    expect(server).toMatchObject({
      description: 'legacy-docker',
      tag_list: ['docker', 'linux'],
      locked: false,
      run_untagged: false,
    });
  });

  it('registers a runner created in the UI (glrt-): verify, id stored, the rest of the file untouched', async () => {
    const created = coordinator.createRunner({ tags: ['ui'] });
    const existing = '# my runners\nconcurrent = 4\nlog_level = "info"   # keep this comment\nfuture_key = "kept"\n';
    const file = freshConfig(existing);
    const result = await cli(['register', '-c', file, '--executor', 'shell', '--name', 'ui-shell'], {
      env: { CI_SERVER_URL: coordinator.url, CI_SERVER_TOKEN: created.token, REGISTER_NON_INTERACTIVE: 'true' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('Verifying runner... is valid');
    const text = read(file);
    expect(text.startsWith(existing)).toBe(true);
    const runner = parseConfig(text).config.runners?.[0];
    expect(runner).toMatchObject({ id: created.id, token: created.token, executor: 'shell', name: 'ui-shell' });
    const systemId = read(join(file, '..', '.runner_system_id')).trim();
    expect(systemId).toMatch(/^s_[0-9a-f]{12}$/);
    const managers = coordinator.runners().find((entry) => entry.id === created.id)?.managers ?? [];
    expect(managers.map((manager) => manager.system_id)).toContain(systemId);
  });

  it('refuses server-side settings with a glrt- token, ignores them with a warning through --registration-token', async () => {
    const created = coordinator.createRunner();
    const file = freshConfig();
    const refused = await cli([
      'register',
      '-c',
      file,
      '-n',
      '-u',
      coordinator.url,
      '-t',
      created.token,
      '--executor',
      'shell',
      '--tag-list',
      'a',
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('FATAL:');
    expect(refused.stderr).toContain('--tag-list');
    expect(() => statSync(file)).toThrow();
    const accepted = await cli([
      'register',
      '-c',
      file,
      '-n',
      '-u',
      coordinator.url,
      '-r',
      created.token,
      '--executor',
      'shell',
      '--tag-list',
      'a',
    ]);
    expect(accepted.exitCode).toBe(0);
    expect(accepted.stderr).toMatch(/WARNING: .*ignored/);
  });

  it('asks interactively for what flags and variables did not give', async () => {
    const file = freshConfig();
    const answers = [
      coordinator.url,
      coordinator.registrationToken,
      'asked-name',
      'x,y',
      '',
      'docker',
      'runnerkit-test/debian:bookworm',
      '',
    ].join('\n');
    const result = await cli(['register', '-c', file], { stdin: `${answers}\n` });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Enter the GitLab instance URL (for example, https://gitlab.com/):');
    expect(result.stdout).toContain('Enter the registration token:');
    expect(result.stdout).toContain('Enter a description for the runner:\n[test-host]: ');
    expect(result.stdout).toContain('Enter the default Docker image (for example, ruby:3.3):');
    const runner = parseConfig(read(file)).config.runners?.[0];
    expect(runner).toMatchObject({
      name: 'asked-name',
      executor: 'docker',
      docker: { image: 'runnerkit-test/debian:bookworm' },
    });
  });

  it('fails on EOF while asking, and unregisters a runner it already created', async () => {
    const file = freshConfig();
    const before = coordinator.runners().length;
    const result = await cli(
      ['register', '-c', file, '-u', coordinator.url, '-r', coordinator.registrationToken, '--name', 'x'],
      {
        stdin: '\n\n\n\n',
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Unexpected EOF. Did you mean to use --non-interactive?');
    expect(result.stderr).toContain('Unregistering runner from GitLab succeeded');
    expect(coordinator.runners().length).toBe(before);
  });

  it('Ctrl-C at a prompt after GitLab created the runner unregisters it again', async () => {
    const file = freshConfig();
    const before = coordinator.runners().length;
    const stdin = new PassThrough();
    const controller = new AbortController();
    // URL, description, tags and note are answered; at the executor prompt the user presses Ctrl-C.
    stdin.write('\n\n\n\n');
    const pending = cli(['register', '-c', file, '-u', coordinator.url, '-r', coordinator.registrationToken], {
      stdin,
      interrupt: controller.signal,
    });
    for (let i = 0; i < 100 && coordinator.runners().length === before; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(coordinator.runners().length).toBe(before + 1);
    controller.abort();
    const result = await pending;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('FATAL: RECEIVED SIGNAL: interrupt');
    expect(coordinator.runners().length).toBe(before);
    expect(() => statSync(file)).toThrow();
  });

  it('non-interactive: a missing value is fatal and nothing is written', async () => {
    const file = freshConfig();
    const result = await cli(['register', '-c', file, '-n', '-r', coordinator.registrationToken]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('FATAL: The url needs to be entered');
    const wrongToken = await cli([
      'register',
      '-c',
      file,
      '-n',
      '-u',
      coordinator.url,
      '-r',
      'GR1348941wrong',
      '--executor',
      'shell',
    ]);
    expect(wrongToken.exitCode).toBe(1);
    expect(wrongToken.stderr).toContain('403');
    expect(() => statSync(file)).toThrow();
  });

  it('takes the template for empty values only, docker/ssh/cache flags and RUNNER_TOKEN (extension)', async () => {
    const created = coordinator.createRunner();
    const template = join(directory, 'template.toml');
    writeFileSync(
      template,
      '[[runners]]\n  token = "discarded"\n  limit = 3\n  [runners.docker]\n    privileged = true\n    image = "from-template"\n    volumes = ["/data:/data"]\n  [runners.cache]\n    Type = "s3"\n',
    );
    const file = freshConfig();
    const result = await cli(
      [
        'register',
        '-c',
        file,
        '-n',
        '--template-config',
        template,
        '--executor',
        'docker',
        '--docker-image',
        'from-flag',
        '--docker-privileged=false',
        '--cache-s3-bucket-name',
        'runner-cache',
        '--cache-shared',
        '--env',
        'A=1',
        '--env',
        'B=2',
        '--feature-flags',
        'FF_USE_FASTZIP:true',
        '--ssh-host',
        'dropped-for-docker',
      ],
      { env: { CI_SERVER_URL: coordinator.url, RUNNER_TOKEN: created.token } },
    );
    expect(result.exitCode).toBe(0);
    const runner = parseConfig(read(file)).config.runners?.[0];
    expect(runner?.token).toBe(created.token);
    expect(runner?.limit).toBe(3);
    expect(runner?.environment).toEqual(['A=1', 'B=2']);
    expect(runner?.feature_flags).toEqual({ FF_USE_FASTZIP: true });
    expect(runner?.docker).toMatchObject({ image: 'from-flag', privileged: true, volumes: ['/data:/data', '/cache'] });
    expect(runner?.cache).toMatchObject({ Type: 's3', Shared: true, s3: { BucketName: 'runner-cache' } });
    expect(runner?.ssh).toBeUndefined();
  });
});

describe('runnerkit verify, unregister and list', () => {
  async function registered(names: string[]): Promise<{ file: string; tokens: string[] }> {
    const file = freshConfig();
    const tokens: string[] = [];
    for (const name of names) {
      const created = coordinator.createRunner();
      tokens.push(created.token);
      const result = await cli([
        'register',
        '-c',
        file,
        '-n',
        '-u',
        coordinator.url,
        '-t',
        created.token,
        '--executor',
        'shell',
        '--name',
        name,
      ]);
      expect(result.exitCode).toBe(0);
    }
    return { file, tokens };
  }

  it('list prints every runner with its executor, short token and URL', async () => {
    const { file, tokens } = await registered(['one', 'two']);
    const result = await cli(['list', '-c', file]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('Listing configured runners');
    expect(result.stderr).toMatch(
      new RegExp(`one +Executor=shell Token=${tokens[0]?.slice(0, 13)} URL=${coordinator.url}`),
    );
    expect(result.stderr).toContain('two');
    for (const token of tokens) expect(result.stderr).not.toContain(token);
  });

  it('verify: valid runners pass; a removed one fails, and --delete cuts it out of the file', async () => {
    const legacy = await cli([
      'register',
      '-c',
      freshConfig(),
      '-n',
      '-u',
      coordinator.url,
      '-r',
      coordinator.registrationToken,
      '--executor',
      'shell',
    ]);
    expect(legacy.exitCode).toBe(0);
    const { file } = await registered(['keep', 'gone']);
    writeFileSync(file, `# leading comment\n${read(file)}`);
    expect((await cli(['verify', '-c', file])).exitCode).toBe(0);
    const config = parseConfig(read(file)).config;
    const gone = config.runners?.[1];
    // Make the second runner's token unknown to GitLab by rewriting it (as if the runner was deleted in the UI).
    writeFileSync(file, read(file).replace(gone?.token ?? '', 'glrt-deleted-in-the-ui-0000'));
    const failed = await cli(['verify', '-c', file]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('Verifying runner... is not valid');
    expect(failed.stderr).toContain('FATAL: Failed to verify runners');
    const before = read(file);
    const deleted = await cli(['verify', '-c', file, '--delete']);
    expect(deleted.exitCode).toBe(0);
    expect(deleted.stderr).toContain(`Updated ${file}`);
    const after = read(file);
    expect(parseConfig(after).config.runners?.map((runner) => runner.name)).toEqual(['keep']);
    expect(after.startsWith('# leading comment\n')).toBe(true);
    expect(before.startsWith(after)).toBe(true);
    const missing = await cli(['verify', '-c', file, '--name', 'nobody']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('no runner matches the filtering parameters');
  });

  it('unregister --name removes the runner manager (glrt-) and only that block', async () => {
    const { file, tokens } = await registered(['first', 'second', 'third']);
    const id = parseConfig(read(file)).config.runners?.[1]?.id;
    const managersBefore = coordinator.runners().find((runner) => runner.id === id)?.managers.length;
    expect(managersBefore).toBe(1);
    const result = await cli(['unregister', '-c', file, '--name', 'second']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('Unregistering runner manager from GitLab succeeded');
    expect(coordinator.runners().find((runner) => runner.id === id)?.managers).toEqual([]);
    expect(parseConfig(read(file)).config.runners?.map((runner) => runner.name)).toEqual(['first', 'third']);
    const byToken = await cli(['unregister', '-c', file, '--token', tokens[2] as string]);
    expect(byToken.exitCode).toBe(0);
    expect(parseConfig(read(file)).config.runners?.map((runner) => runner.name)).toEqual(['first']);
    const unknown = await cli(['unregister', '-c', file, '--name', 'nobody']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("could not find a runner with the name 'nobody'");
    const nothing = await cli(['unregister', '-c', file]);
    expect(nothing.exitCode).toBe(1);
    expect(nothing.stderr).toContain('at least one of --name or --token must be specified');
  });

  it('unregister --all-runners deletes legacy runners (DELETE /runners) and keeps the ones that fail', async () => {
    const file = freshConfig();
    for (const name of ['legacy-a', 'legacy-b']) {
      const result = await cli([
        'register',
        '-c',
        file,
        '-n',
        '-u',
        coordinator.url,
        '-r',
        coordinator.registrationToken,
        '--executor',
        'shell',
        '--name',
        name,
      ]);
      expect(result.exitCode).toBe(0);
    }
    const ids = parseConfig(read(file)).config.runners?.map((runner) => runner.id);
    writeFileSync(
      file,
      read(file).replace(/token = "glrtr-[^"]*"\n(?![\s\S]*glrtr-)/, 'token = "glrtr-unknown-token-000000"\n'),
    );
    const result = await cli(['unregister', '-c', file, '--all-runners']);
    expect(result.stderr).toContain('WARNING: Unregistering all runners');
    expect(result.stderr).toContain('Unregistering runner from GitLab succeeded');
    expect(result.stderr).toContain('ERROR: Failed to unregister runners');
    expect(coordinator.runners().some((runner) => runner.id === ids?.[0])).toBe(false);
    expect(parseConfig(read(file)).config.runners?.map((runner) => runner.name)).toEqual(['legacy-b']);
  });
});

describe('config file edits', () => {
  it('removeRunnerBlocks cuts exactly the runner block, sub-tables included', () => {
    const text = [
      'concurrent = 2',
      '',
      '[[runners]]',
      '  name = "a"',
      '  script = """',
      '[[runners]]',
      '"""',
      '  [runners.docker]',
      '    image = "x"',
      '  [[runners.docker.services]]',
      '    name = "svc"',
      '',
      '[[runners]]',
      '  name = "b"',
      '',
      '[session_server]',
      '  session_timeout = 1800',
      '',
    ].join('\n');
    expect(removeRunnerBlocks(text.replace('  script', '  pre_build_script'), [0])).toMatchInlineSnapshot(`
      "concurrent = 2

      [[runners]]
        name = "b"

      [session_server]
        session_timeout = 1800
      "
    `);
    expect(() => removeRunnerBlocks('runners = [{ name = "inline" }]\n', [0])).toThrow(/written inline/);
  });

  it('fillEmpty fills only empty values (GitLab’s template merge)', () => {
    expect(
      fillEmpty({ a: '', b: 'kept', c: false, d: { e: 0 } }, { a: 'x', b: 'y', c: true, d: { e: 5, f: 1 }, g: [1] }),
    ).toEqual({
      a: 'x',
      b: 'kept',
      c: true,
      d: { e: 5, f: 1 },
      g: [1],
    });
  });
});
