// The SSH executor: every stage script runs on the remote host as `<shell> -l` with the script on stdin, in a
// process group of its own (setsid) whose id is recorded, so a cancel or timeout kills the whole group.
import { posix } from 'node:path';
import {
  assertSupportedShell,
  type Executor,
  type ExecutorDirectories,
  type JobContext,
  type PrepareRequest,
  type RunRequest,
  type RunResult,
} from '@runnerkit/job-runtime';
import type { ClientChannel } from 'ssh2';
import { type ConnectionSettings, SshConnection, targetOf } from './connection.js';
import { SshConfigurationError, SshExecutorError } from './errors.js';
import { createFileStages } from './files.js';
import type { SshExecutorOptions } from './options.js';

/** The first stderr line of every stage: the process group id of the stage's shell. */
const PGID_MARKER = 'runnerkit-pgid:';

/**
 * The remote command of a stage. sshd runs it with the user's login shell; `setsid -w` starts the job shell in a
 * new session (so its process group holds everything the script starts) and waits for it. Without setsid the
 * command's own shell is already a session leader (sshd calls setsid for every session), so `$$` still names it.
 */
export function stageCommand(shell: string): string {
  // SHLVL=1 makes the job shell level 2: Debian's and Ubuntu's stock ~/.bash_logout run `clear_console` only at
  // level 1, which fails without a terminal and, under the script's errexit, turned every job into "prepare
  // environment: exit code 1" (GitLab Runner documents deleting that line instead).
  const inner = `echo "${PGID_MARKER}$$" >&2; SHLVL=1; export SHLVL; exec ${shell} -l`;
  return `if command -v setsid >/dev/null 2>&1; then exec setsid -w sh -c '${inner}'; else ${inner}; fi`;
}

export interface SshJobState {
  readonly connection: SshConnection;
  readonly job: JobContext;
  readonly options: SshExecutorOptions;
}

function resolveDirectory(directory: string, home: string | undefined): string {
  if (posix.isAbsolute(directory) || !home) return directory;
  return posix.join(home, directory);
}

/** The SSH executor object (one per job). */
export interface SshExecutor extends Executor {
  /** `user@host:port` this executor connects to. */
  readonly target: string;
  /** Process group ids of stages still running on the remote host (tests check them). */
  readonly runningProcessGroups: ReadonlySet<number>;
}

/** Creates the SSH executor for one job. */
export function createSshExecutor(options: SshExecutorOptions): SshExecutor {
  const shell = options.shell || 'bash';
  assertSupportedShell(shell);
  const target = targetOf(options.ssh);
  const home = options.homeDirectory?.replace(/\/+$/, '') || undefined;
  if (home !== undefined && !posix.isAbsolute(home))
    throw new SshConfigurationError(`homeDirectory ${JSON.stringify(home)} must be an absolute path`);
  const directories: ExecutorDirectories = {
    buildsDir: resolveDirectory(options.buildsDir || 'builds', home),
    cacheDir: resolveDirectory(options.cacheDir || 'cache', home),
    sharedBuildsDir: true,
    customBuildDir: options.customBuildDir ?? false,
  };
  const killGraceMs = options.killGraceMs ?? 5000;
  const settings: ConnectionSettings = options;
  let connection: SshConnection | undefined;
  let job: JobContext | undefined;
  const running = new Set<number>();

  const killGroup = async (pgid: number, signal: 'TERM' | 'KILL'): Promise<void> => {
    if (!connection || connection.lost) return;
    await connection.exec(`kill -${signal} -- -${pgid} 2>/dev/null; true`).catch(() => {});
  };

  const connected = (): SshConnection => {
    if (!connection) throw new SshExecutorError('SSH_EXECUTOR_COMMAND', 'the SSH executor is not prepared');
    if (connection.lost) throw connection.lost;
    return connection;
  };

  const executor: SshExecutor = {
    name: 'ssh',
    shell,
    environment: 'shared',
    directories,
    target: `${target.user}@${target.host}:${target.port}`,
    runningProcessGroups: running,

    async prepare(request: PrepareRequest): Promise<void> {
      request.log.println('Using SSH executor...');
      job = request.job;
      if (connection && !connection.lost) return;
      await connection?.close();
      connection = undefined;
      connection = await SshConnection.open(settings, request.signal);
    },

    async run(request: RunRequest): Promise<RunResult> {
      if (request.signal.aborted) throw request.signal.reason;
      const ssh = connected();
      let pgid: number | undefined;
      let channel: ClientChannel | undefined;
      let pendingErr = '';
      let killTimer: NodeJS.Timeout | undefined;
      let backstop: NodeJS.Timeout | undefined;
      let exited = false;

      const onPgid = (id: number) => {
        pgid = id;
        running.add(id);
        if (request.signal.aborted) onAbort();
      };
      const onAbort = () => {
        // a backstop: whatever happens remotely, the stage settles
        backstop ??= setTimeout(() => channel?.close(), killGraceMs + 2000);
        backstop.unref?.();
        if (pgid === undefined || pgid < 0) {
          // no process group known (yet): end the session; a group reported later is killed on arrival
          channel?.signal('KILL');
          return;
        }
        const group = pgid;
        void killGroup(group, 'TERM');
        killTimer = setTimeout(() => void killGroup(group, 'KILL'), killGraceMs);
        killTimer.unref?.();
      };
      request.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await ssh.exec(stageCommand(shell), {
          stdin: request.script,
          stdout: (chunk) => request.output.write(chunk, 'stdout'),
          stderr: (chunk) => {
            if (pgid !== undefined) return request.output.write(chunk, 'stderr');
            pendingErr += chunk.toString('latin1');
            const newline = pendingErr.indexOf('\n');
            if (newline === -1 && pendingErr.length < 256) return;
            const first = newline === -1 ? pendingErr : pendingErr.slice(0, newline);
            const rest = newline === -1 ? '' : pendingErr.slice(newline + 1);
            const match = first.startsWith(PGID_MARKER) ? /^\d+$/.exec(first.slice(PGID_MARKER.length)) : null;
            if (match) onPgid(Number(match[0]));
            const forward = match ? rest : pendingErr;
            pendingErr = '';
            if (!match) pgid = -1; // no marker: forward everything from now on
            if (forward) request.output.write(Buffer.from(forward, 'latin1'), 'stderr');
          },
          onChannel: (opened) => {
            channel = opened;
            opened.once('exit', () => {
              exited = true;
              // background processes the script left behind would hold the channel open: end the group
              if (pgid !== undefined && pgid > 0) void killGroup(pgid, 'KILL');
            });
          },
        });
        if (request.signal.aborted) throw request.signal.reason;
        return { exitCode: result.exitCode };
      } finally {
        request.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (backstop) clearTimeout(backstop);
        if (pgid !== undefined && pgid > 0 && !ssh.lost) {
          if (!exited || request.signal.aborted) await killGroup(pgid, 'KILL');
          running.delete(pgid);
        }
      }
    },

    async cleanup(): Promise<void> {
      const open = connection;
      connection = undefined;
      try {
        if (running.size > 0) {
          let killer: SshConnection | undefined = open && !open.lost ? open : undefined;
          let own = false;
          if (!killer) {
            // the connection dropped while a stage ran: reconnect once to end what it left running
            killer = await SshConnection.open({
              ...settings,
              connectAttempts: 1,
              connectTimeoutMs: Math.min(settings.connectTimeoutMs ?? 30_000, 10_000),
            }).catch(() => undefined);
            own = killer !== undefined;
          }
          if (killer)
            await killer
              .exec(`${[...running].map((group) => `kill -KILL -- -${group} 2>/dev/null;`).join(' ')} true`)
              .catch(() => {});
          if (own) await killer?.close();
          running.clear();
        }
      } catch {
        // cleanup never throws
      }
      await open?.close().catch(() => {});
    },

    stages: createFileStages(() => {
      if (!job) throw new SshExecutorError('SSH_EXECUTOR_COMMAND', 'the SSH executor is not prepared');
      return { connection: connected(), job, options };
    }),
  };
  return executor;
}

/** Connects once and returns the remote user's login directory (for `homeDirectory`). */
export async function probeSshHomeDirectory(
  options: Pick<
    SshExecutorOptions,
    'ssh' | 'identity' | 'knownHosts' | 'connectTimeoutMs' | 'connectAttempts' | 'connectRetryDelayMs'
  >,
  signal?: AbortSignal,
): Promise<string> {
  const connection = await SshConnection.open(options, signal);
  try {
    const home = (await connection.capture('pwd')).trim();
    if (!posix.isAbsolute(home))
      throw new SshExecutorError('SSH_EXECUTOR_COMMAND', `the remote login directory is not absolute: ${home}`);
    return home;
  } finally {
    await connection.close();
  }
}
