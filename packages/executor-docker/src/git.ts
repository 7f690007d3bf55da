// get_sources without a helper image: git runs on the runner host against a per-project mirror, and the work
// tree (with .git) is streamed into the build container through the archive API (docker-executor §3.2).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseGoBool } from '@runnerkit/config-schema';
import type { StageHandlerContext, StageOutput } from '@runnerkit/job-runtime';
import { quote } from '@runnerkit/job-runtime';
import { DockerExecutorError } from './errors.js';
import type { DockerJobState } from './executor.js';
import { md5, projectRealUniqueName } from './naming.js';
import { directoryTar } from './tar.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const locks = new Map<string, Promise<unknown>>();

/** Serialises work on one mirror within this process. */
async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(work);
  locks.set(key, next);
  try {
    return await next;
  } finally {
    if (locks.get(key) === next) locks.delete(key);
  }
}

export interface RepositoryAccess {
  /** The URL without credentials (origin of the checkout, what the log shows). */
  plainUrl: string;
  /** `http.<scheme>://<host>/.extraHeader` config giving the credentials, passed through the environment only. */
  authConfig: Record<string, string>;
}

/** Splits the payload's repo URL into a credential-free URL and a scoped Authorization header; applies clone_url. */
export function repositoryAccess(repoUrl: string, cloneUrl?: string): RepositoryAccess {
  let url: URL;
  try {
    url = new URL(repoUrl);
  } catch {
    return { plainUrl: repoUrl, authConfig: {} };
  }
  if (cloneUrl) {
    const base = new URL(cloneUrl);
    url.protocol = base.protocol;
    url.host = base.host;
    const prefix = base.pathname.replace(/\/$/, '');
    if (prefix) url.pathname = `${prefix}${url.pathname}`;
  }
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  const authConfig: Record<string, string> = {};
  if (username || password) {
    const token = Buffer.from(`${username}:${password}`).toString('base64');
    authConfig[`http.${url.protocol}//${url.host}/.extraHeader`] = `Authorization: Basic ${token}`;
  }
  return { plainUrl: url.toString(), authConfig };
}

interface GitRun {
  stdout: string;
  stderr: string;
}

function git(
  binary: string,
  args: string[],
  options: { cwd?: string; config?: Record<string, string>; signal: AbortSignal; onStderr?: (text: string) => void },
): Promise<GitRun> {
  const env: Record<string, string> = {
    PATH,
    HOME: '/nonexistent',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GCM_INTERACTIVE: 'Never',
    LC_ALL: 'C',
  };
  const config = Object.entries(options.config ?? {});
  if (config.length > 0) {
    env.GIT_CONFIG_COUNT = String(config.length);
    for (const [index, [key, value]] of config.entries()) {
      env[`GIT_CONFIG_KEY_${index}`] = key;
      env[`GIT_CONFIG_VALUE_${index}`] = value;
    }
  }
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      cwd: options.cwd,
      env,
      signal: options.signal,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(chunk.toString());
    });
    child.on('error', (error) =>
      reject(
        options.signal.aborted
          ? options.signal.reason
          : new DockerExecutorError(
              'DOCKER_EXECUTOR_GIT',
              `cannot run ${binary}: ${error.message}`,
              'runner_system_failure',
              {
                cause: error,
              },
            ),
      ),
    );
    child.on('close', (code) => {
      if (options.signal.aborted) return reject(options.signal.reason);
      if (code === 0) resolve({ stdout, stderr });
      else {
        const error = new Error(
          `git ${args[0]} failed with exit code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`,
        );
        reject(Object.assign(error, { exitCode: code }));
      }
    });
  });
}

export interface GitSettings {
  strategy: 'clone' | 'fetch' | 'none' | 'empty';
  depth: number;
  checkout: boolean;
  cleanFlags: string[];
  fetchFlags: string[];
  submodules: 'none' | 'normal' | 'recursive';
  submoduleUpdateFlags: string[];
}

function flags(raw: string | undefined, fallback: string): string[] {
  const value = raw === undefined || raw === '' ? fallback : raw;
  return value === 'none' ? [] : value.split(/\s+/).filter(Boolean);
}

/** The GIT_* settings the runtime also reads (job-execution §4.1), re-read here for the host-side checkout. */
export function gitSettings(state: Pick<DockerJobState, 'job'>): GitSettings {
  const { job } = state;
  const lookup = (key: string) => job.variables.content(key)?.trim();
  const rawStrategy = lookup('GIT_STRATEGY') ?? '';
  const strategy = (
    ['clone', 'fetch', 'none', 'empty'].includes(rawStrategy)
      ? rawStrategy
      : job.payload.allow_git_fetch
        ? 'fetch'
        : 'clone'
  ) as GitSettings['strategy'];
  const depthVariable = Number.parseInt(lookup('GIT_DEPTH') ?? '', 10);
  const depth = Number.isNaN(depthVariable) ? Number(job.payload.git_info?.depth ?? 0) : depthVariable;
  const submodule = lookup('GIT_SUBMODULE_STRATEGY') ?? 'none';
  return {
    strategy,
    depth,
    checkout: parseGoBool(lookup('GIT_CHECKOUT') || 'true') ?? true,
    cleanFlags: flags(lookup('GIT_CLEAN_FLAGS'), '-ffdx'),
    fetchFlags: flags(lookup('GIT_FETCH_EXTRA_FLAGS'), '--prune --quiet'),
    submodules: (['normal', 'recursive'].includes(submodule) ? submodule : 'none') as GitSettings['submodules'],
    submoduleUpdateFlags: flags(lookup('GIT_SUBMODULE_UPDATE_FLAGS'), ''),
  };
}

/** A plain script for the build container (no job environment needed: paths only). */
function plainScript(body: string): string {
  return `set -e\n${body}\n`;
}

/** The get_sources stage handler. */
export function createSourcesStage(getState: () => DockerJobState) {
  return async function getSources(context: StageHandlerContext): Promise<void> {
    const state = getState();
    const { client, job } = state;
    const binary = state.options.gitBinary ?? 'git';
    const settings = gitSettings(state);
    const dir = job.directories.projectDir;
    const signal = context.signal;
    const notice = (text: string) => context.output.write(`\x1b[32;1m${text}\x1b[0;m\n`, 'stdout');
    const payload = job.payload;
    const hooks = (name: string) =>
      (payload.hooks ?? []).filter((hook) => hook.name === name).flatMap((hook) => hook.script ?? []);

    const exists = async (path: string) => {
      try {
        await client.containers.statPath(state.buildContainer, path, { signal });
        return true;
      } catch {
        return false;
      }
    };
    /** Removes the project directory in the container; its output goes to `output`. */
    const removeDirTo = async (output: StageOutput) => {
      if (!(await exists(dir))) return;
      const result = await state.runInBuild(plainScript(`rm -rf ${quote(dir, 'posix')}`), output, signal);
      if (result.exitCode !== 0)
        throw new DockerExecutorError(
          'DOCKER_EXECUTOR_TRANSFER',
          `cannot remove ${dir} in the build container`,
          'runner_system_failure',
        );
    };
    const removeDir = () => removeDirTo(context.output);
    const makeDir = () =>
      client.containers.putArchive(state.buildContainer, '/', directoryTar({ target: dir }), { signal });
    const runHook = async (commands: string[]) => {
      if (commands.length === 0) return;
      await makeDir();
      const script = [`cd ${quote(dir, 'posix')}`, ...commands].join('\n');
      const result = await context.runScript(`set -e\n${script}\n`);
      if (result.exitCode !== 0)
        throw Object.assign(new Error(`exit code ${result.exitCode}`), { exitCode: result.exitCode });
    };

    if (settings.strategy === 'none') {
      notice('Skipping Git repository setup');
      if (!state.projectDirCreated) await makeDir();
      return;
    }
    if (settings.strategy === 'empty') {
      notice('Skipping Git repository setup and creating an empty build directory');
      await removeDir();
      await makeDir();
      return;
    }

    const repoUrl = payload.git_info?.repo_url ?? '';
    const access = repositoryAccess(repoUrl, state.options.cloneUrl);
    const workDir = state.options.workDir;
    const mirror = join(workDir, 'mirrors', `${md5(access.plainUrl)}.git`);
    const persistent = settings.strategy === 'fetch';
    const tree = persistent
      ? join(workDir, 'trees', projectRealUniqueName(state.naming), md5(dir))
      : join(workDir, 'tmp', `${payload.id}-${randomBytes(6).toString('hex')}`);
    const refspecs = [...(payload.git_info?.refspecs ?? [])];
    const depthArgs = settings.depth > 0 ? ['--depth', String(settings.depth)] : [];
    const forward = (text: string) => context.output.write(text, 'stderr');

    notice(settings.depth > 0 ? `Fetching changes with git depth set to ${settings.depth}...` : 'Fetching changes...');
    // The old project directory in the container is removed while git works on the host (they share nothing); its
    // output, if any, is held and written where the removal used to run, so the job log reads the same. With a
    // pre_get_sources_script hook (which runs in the old directory) the removal waits, as before.
    const held: Array<[Uint8Array | string, 'stdout' | 'stderr']> = [];
    const earlyRemoval =
      hooks('pre_get_sources_script').length === 0
        ? removeDirTo({ write: (chunk, stream) => held.push([chunk, stream]) }).then(
            () => ({ ok: true as const }),
            (error: unknown) => ({ ok: false as const, error }),
          )
        : undefined;
    const removedEarly = async () => {
      const outcome = await earlyRemoval!;
      for (const [chunk, stream] of held.splice(0)) context.output.write(chunk, stream);
      if (!outcome.ok) throw outcome.error;
    };
    try {
      // 1. the mirror: the only network fetch, incremental across jobs of the project
      await withLock(mirror, async () => {
        if (!existsSync(join(mirror, 'HEAD'))) {
          await mkdir(mirror, { recursive: true });
          await git(binary, ['init', '--bare', '--quiet', mirror], { signal });
        }
        // the mirror keeps the remote's ref names, so the work tree can fetch the job's refspecs from it
        const fetchRefspecs = (refspecs.length > 0 ? refspecs : ['+refs/heads/*:refs/remotes/origin/*']).map(
          (refspec) => {
            const source = refspec.replace(/^\+/, '').split(':')[0]!;
            return `+${source}:${source}`;
          },
        );
        await git(
          binary,
          [
            '-C',
            mirror,
            'fetch',
            '--no-recurse-submodules',
            '--prune',
            '--quiet',
            ...depthArgs,
            access.plainUrl,
            ...fetchRefspecs,
          ],
          { signal, config: access.authConfig, onStderr: forward },
        );
      });

      // 2. the work tree, fetched from the mirror (local, no credentials)
      await runHook(hooks('pre_get_sources_script'));
      const fresh = !existsSync(join(tree, '.git'));
      await mkdir(tree, { recursive: true });
      await git(binary, ['init', '--quiet', tree], { signal });
      context.output.write(
        `${fresh ? 'Initialized empty' : 'Reinitialized existing'} Git repository in ${dir}/.git/\n`,
        'stdout',
      );
      const hasOrigin = await git(binary, ['-C', tree, 'remote'], { signal }).then((run) =>
        run.stdout.includes('origin'),
      );
      if (hasOrigin) await git(binary, ['-C', tree, 'remote', 'set-url', 'origin', access.plainUrl], { signal });
      else {
        await git(binary, ['-C', tree, 'remote', 'add', 'origin', access.plainUrl], { signal });
        notice('Created fresh repository.');
      }
      await withLock(mirror, () =>
        git(
          binary,
          [
            '-C',
            tree,
            'fetch',
            '--no-recurse-submodules',
            ...depthArgs,
            ...settings.fetchFlags,
            `file://${mirror}`,
            ...refspecs,
          ],
          { signal, onStderr: forward },
        ),
      );
      const sha = payload.git_info?.sha ?? '';
      if (settings.checkout) {
        notice(`Checking out ${sha.slice(0, 8)} as detached HEAD (ref is ${payload.git_info?.ref ?? ''})...`);
        await git(binary, ['-C', tree, '-c', 'submodule.recurse=false', 'checkout', '-f', '-q', sha], { signal });
        if (settings.cleanFlags.length > 0)
          await git(binary, ['-C', tree, 'clean', ...settings.cleanFlags], { signal, onStderr: forward });
      } else notice('Skipping Git checkout');

      // 3. submodules (basics: sync and update with the job's credentials for the same host)
      if (settings.submodules === 'none') notice('Skipping Git submodules setup');
      else {
        const recursive = settings.submodules === 'recursive' ? ['--recursive'] : [];
        notice(
          `Updating/initializing submodules${recursive.length ? ' recursively' : ''}${settings.depth > 0 ? ` with git depth set to ${settings.depth}` : ''}...`,
        );
        const config = { ...access.authConfig, 'protocol.file.allow': 'always' };
        await git(binary, ['-C', tree, 'submodule', 'init'], { signal, config });
        await git(binary, ['-C', tree, 'submodule', 'sync', ...recursive], { signal, config });
        await git(
          binary,
          ['-C', tree, 'submodule', 'update', '--init', ...recursive, ...depthArgs, ...settings.submoduleUpdateFlags],
          { signal, config, onStderr: forward },
        );
      }
    } catch (error) {
      await earlyRemoval; // no exec of this stage outlives it
      if (signal.aborted) throw signal.reason;
      if (!persistent) await rm(tree, { recursive: true, force: true });
      else await rm(tree, { recursive: true, force: true }); // a broken tree is re-created next time
      throw new DockerExecutorError('DOCKER_EXECUTOR_GIT', (error as Error).message, 'runner_system_failure', {
        cause: error,
      });
    }

    // 4. stream the tree, .git included, into the builds volume
    try {
      if (earlyRemoval) await removedEarly();
      else await removeDir();
      await client.containers.putArchive(state.buildContainer, '/', directoryTar({ hostDir: tree, target: dir }), {
        signal,
      });
    } finally {
      if (!persistent) await rm(tree, { recursive: true, force: true });
    }
    await runHook(hooks('post_get_sources_script'));
  };
}
