// The `shell` executor: each stage script runs as a local process (as GitLab Runner's shell executor).
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { ExecutorError } from '../errors.js';
import type { Executor, PrepareRequest, RunRequest, RunResult, ShellName } from '../executor/contract.js';
import { assertSupportedShell } from '../shell/supported.js';
import { downloadArtifactsLocally, uploadArtifactsLocally } from './shell-artifacts.js';
import { archiveCacheLocally, restoreCacheLocally } from './shell-cache.js';

export interface ShellExecutorSettings {
  /** `bash` (default) or `sh`; anything else throws ShellNotSupportedError. */
  shell?: ShellName | (string & {}) | undefined;
  /** The program and arguments that read a script on stdin; default `[shell]` (e.g. `['/bin/busybox', 'sh']`). */
  command?: readonly string[] | undefined;
  /** Absolute `builds_dir` on this host. */
  buildsDir: string;
  /** Absolute `cache_dir` on this host. */
  cacheDir: string;
  /** `[runners.custom_build_dir] enabled` (default false, as for SSH). */
  customBuildDir?: boolean | undefined;
  /** The environment the job's processes start with (the library never reads the process environment). Default: only PATH. */
  env?: Readonly<Record<string, string>> | undefined;
  /** Time between SIGTERM and SIGKILL when a stage is stopped (default 5 s). */
  killGraceMs?: number | undefined;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Creates a shell executor for one job. */
export function createShellExecutor(settings: ShellExecutorSettings): Executor {
  const shell = settings.shell ?? 'bash';
  assertSupportedShell(shell);
  const command = settings.command ?? [shell];
  const env = settings.env ?? { PATH: DEFAULT_PATH };
  const killGraceMs = settings.killGraceMs ?? 5000;
  const running = new Set<number>();

  const killGroup = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };

  return {
    name: 'shell',
    shell,
    environment: 'shared',
    directories: {
      buildsDir: settings.buildsDir,
      cacheDir: settings.cacheDir,
      sharedBuildsDir: true,
      customBuildDir: settings.customBuildDir ?? false,
    },

    async prepare(request: PrepareRequest): Promise<void> {
      request.log.println(`Using Shell (${shell}) executor...`);
      try {
        await mkdir(settings.buildsDir, { recursive: true });
        await mkdir(settings.cacheDir, { recursive: true });
      } catch (error) {
        throw new ExecutorError(`cannot create the builds or cache directory: ${(error as Error).message}`, undefined, {
          cause: error,
        });
      }
    },

    run(request: RunRequest): Promise<RunResult> {
      return new Promise<RunResult>((resolve, reject) => {
        if (request.signal.aborted) return reject(request.signal.reason);
        const child = spawn(command[0]!, command.slice(1), {
          cwd: settings.buildsDir,
          env,
          detached: true,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let killTimer: NodeJS.Timeout | undefined;
        const onAbort = () => {
          if (child.pid === undefined) return;
          killGroup(child.pid, 'SIGTERM');
          killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), killGraceMs);
        };
        request.signal.addEventListener('abort', onAbort, { once: true });
        if (child.pid !== undefined) running.add(child.pid);
        child.stdout.on('data', (chunk: Buffer) => request.output.write(chunk, 'stdout'));
        child.stderr.on('data', (chunk: Buffer) => request.output.write(chunk, 'stderr'));
        child.stdin.on('error', () => {}); // the shell may exit before reading everything
        child.stdin.end(request.script);
        child.on('error', (error) => {
          request.signal.removeEventListener('abort', onAbort);
          reject(new ExecutorError(`cannot start ${command.join(' ')}: ${error.message}`, undefined, { cause: error }));
        });
        child.on('close', (code, signal) => {
          request.signal.removeEventListener('abort', onAbort);
          if (killTimer) clearTimeout(killTimer);
          if (child.pid !== undefined) {
            // stray background processes of the stage go with it
            killGroup(child.pid, 'SIGKILL');
            running.delete(child.pid);
          }
          if (request.signal.aborted) return reject(request.signal.reason);
          const signalNumber = signal ? (constants.signals[signal] ?? 0) : 0;
          resolve({ exitCode: code ?? 128 + signalNumber });
        });
      });
    },

    async cleanup(): Promise<void> {
      for (const pid of running) killGroup(pid, 'SIGKILL');
      running.clear();
    },

    stages: {
      restoreCache: restoreCacheLocally,
      archiveCache: (context, entries) => archiveCacheLocally(context, entries),
      downloadArtifacts: downloadArtifactsLocally,
      uploadArtifacts: (context, entries) => uploadArtifactsLocally(context, entries),
    },
  };
}
