// Spawning the built CLI and watching what it prints; Docker leftovers by runner label.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from '@runnerkit/testkit';

const run = promisify(execFile);

export const CLI = join(repositoryRoot(), 'apps', 'runner', 'bin', 'runnerkit.js');
export const DOCKER = '/usr/bin/docker';

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when stdout+stderr match `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit code (or signal name). */
  exited: Promise<number | string>;
}

export function startCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? repositoryRoot(),
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    notify();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    notify();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout + stderr)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const cli = startCli(args, options);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const code = await cli.exited;
  clearTimeout(timer);
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

export async function stopCli(cli: CliProcess): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGKILL');
  await cli.exited;
}

export async function temporaryDirectory(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `runnerkit-e2e-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A git checkout holding `files` (one commit on `main`). */
export async function gitProject(parent: string, name: string, files: Record<string, string>): Promise<string> {
  const dir = join(parent, name);
  await run('git', ['init', '-q', '--initial-branch=main', dir]);
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  await run('git', ['add', '.'], { cwd: dir });
  await run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', 'commit', '-qm', 'init'], { cwd: dir });
  return dir;
}

export async function docker(args: readonly string[]): Promise<string> {
  const { stdout } = await run(DOCKER, args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Containers, volumes and networks labelled with this runner's short token. */
export async function dockerObjects(
  shortToken: string,
): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
  const filter = `label=com.gitlab.gitlab-runner.runner.id=${shortToken}`;
  const lines = (text: string) => text.split('\n').filter((line) => line !== '');
  return {
    containers: lines(await docker(['ps', '-aq', '--filter', filter])),
    volumes: lines(await docker(['volume', 'ls', '-q', '--filter', filter])),
    networks: lines(await docker(['network', 'ls', '-q', '--filter', filter])),
  };
}

export async function removeDockerObjects(shortToken: string): Promise<void> {
  const objects = await dockerObjects(shortToken);
  if (objects.containers.length > 0) await docker(['rm', '-f', '-v', ...objects.containers]).catch(() => '');
  if (objects.networks.length > 0) await docker(['network', 'rm', ...objects.networks]).catch(() => '');
  if (objects.volumes.length > 0) await docker(['volume', 'rm', '-f', ...objects.volumes]).catch(() => '');
}

/** GitLab's short token: the first 9 characters after `glrt-` (and `t1_`…). */
export function shortTokenOf(token: string): string {
  return token.replace(/^glrt-(t\d_)?/, '').slice(0, 9);
}

export async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function configToml(
  runners: Array<{ name: string; url: string; token: string; executor: string; extra?: string }>,
  global = 'concurrent = 4\ncheck_interval = 1\nshutdown_timeout = 20\n',
): string {
  return `${global}\n${runners
    .map(
      (runner) =>
        `[[runners]]\n  name = "${runner.name}"\n  url = "${runner.url}"\n  token = "${runner.token}"\n  executor = "${runner.executor}"\n${runner.extra ?? ''}`,
    )
    .join('\n')}`;
}
