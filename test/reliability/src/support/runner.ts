// The real runner path: the built `runnerkit` CLI (`run`) against an in-process coordinator, plus what tests need
// around it (git projects, pipelines, waiting, Docker objects by label).
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Coordinator, JobView } from '@runnerkit/coordinator';
import { repositoryRoot } from '@runnerkit/testkit';

const run = promisify(execFile);

export const CLI = join(repositoryRoot(), 'apps', 'runner', 'bin', 'runnerkit.js');
export const DOCKER = '/usr/bin/docker';
export const MANAGED_FILTER = 'label=com.gitlab.gitlab-runner.managed=true';

export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: string;
  readonly exited: Promise<number | string>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: repositoryRoot(),
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    child,
    get output() {
      return output;
    },
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}\n--- runner output\n${output}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function temporaryDirectory(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `runnerkit-reliability-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A git checkout holding `files` (one commit on `main`). */
export async function gitProject(parent: string, name: string, files: Record<string, string>): Promise<string> {
  const dir = join(parent, name);
  await run('git', ['init', '-q', '--initial-branch=main', dir]);
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  await run('git', ['add', '.'], { cwd: dir });
  await run('git', ['-c', 'user.name=rk', '-c', 'user.email=rk@localhost', 'commit', '-qm', 'init'], { cwd: dir });
  return dir;
}

export interface PipelineVariable {
  key: string;
  value: string;
  masked?: boolean;
}

/** POST /-/pipelines: the coordinator compiles the YAML and queues its jobs. */
export async function createPipeline(
  coordinator: Coordinator,
  projectDir: string,
  yaml: string,
  variables: readonly PipelineVariable[] = [],
): Promise<{ id: number; jobs: Array<{ id: number; name: string }> }> {
  await writeFile(join(projectDir, '.gitlab-ci.yml'), yaml);
  const response = await fetch(`${coordinator.url}/-/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ yaml, project_dir: projectDir, variables }),
  });
  if (response.status !== 201) throw new Error(`POST /-/pipelines: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: number; jobs: Array<{ id: number; name: string }> };
}

export const FINISHED = ['success', 'failed', 'canceled'];

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

export function finishedJob(coordinator: Coordinator, id: number, timeoutMs = 90_000): Promise<JobView> {
  return until(
    () => {
      const job = coordinator.job(id);
      return job && FINISHED.includes(job.status) ? job : undefined;
    },
    timeoutMs,
    `job ${id} to finish`,
  );
}

export interface RunnerEntry {
  name: string;
  url: string;
  token: string;
  executor: 'shell' | 'docker';
  /** Extra lines inside [[runners]] (indented TOML). */
  extra?: string;
}

export function configToml(runners: readonly RunnerEntry[], global = ''): string {
  const head = `concurrent = 4\ncheck_interval = 1\nshutdown_timeout = 20\nlog_level = "debug"\n${global}`;
  const body = runners
    .map(
      (runner) =>
        `[[runners]]\n  name = "${runner.name}"\n  url = "${runner.url}"\n  token = "${runner.token}"\n  executor = "${runner.executor}"\n${runner.extra ?? ''}`,
    )
    .join('\n');
  return `${head}\n${body}`;
}

export function shellDirectories(work: string): string {
  return `  builds_dir = "${work}/builds"\n  cache_dir = "${work}/cache"\n`;
}

export async function docker(args: readonly string[]): Promise<string> {
  const { stdout } = await run(DOCKER, args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** GitLab's short token: the first 9 characters after `glrt-` (and `t1_`…). */
export function shortTokenOf(token: string): string {
  return token.replace(/^glrt-(t\d_)?/, '').slice(0, 9);
}

/** Containers, networks and volumes a runner labelled (com.gitlab.gitlab-runner.runner.id = its short token). */
export async function labelledObjects(
  shortToken: string,
  host?: string,
): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
  const filter = `label=com.gitlab.gitlab-runner.runner.id=${shortToken}`;
  const prefix = host === undefined ? [] : ['-H', host];
  const lines = (text: string) => text.split('\n').filter((line) => line !== '');
  return {
    containers: lines(await docker([...prefix, 'ps', '-aq', '--filter', filter])),
    volumes: lines(await docker([...prefix, 'volume', 'ls', '-q', '--filter', filter])),
    networks: lines(await docker([...prefix, 'network', 'ls', '-q', '--filter', filter])),
  };
}

export async function removeLabelledObjects(shortToken: string, host?: string): Promise<void> {
  const prefix = host === undefined ? [] : ['-H', host];
  const objects = await labelledObjects(shortToken, host);
  if (objects.containers.length > 0) await docker([...prefix, 'rm', '-f', '-v', ...objects.containers]).catch(() => '');
  if (objects.networks.length > 0) await docker([...prefix, 'network', 'rm', ...objects.networks]).catch(() => '');
  if (objects.volumes.length > 0) await docker([...prefix, 'volume', 'rm', '-f', ...objects.volumes]).catch(() => '');
}
