// Caches and artifacts, runner-side over the SSH connection (job-execution §9): files leave and enter the remote
// host as tar streams over exec channels (`tar -c`/`tar -x` on the remote host); archives are built and read on
// the runner host with @runnerkit/cache-adapters. Local caches live remotely in `<cache_dir>/<slug>/<key>/`.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ArchiveVariables,
  artifactArchiveSettings,
  cacheArchiveSettings,
  hashCacheKey,
  sanitizeCacheKey,
} from '@runnerkit/cache-adapters';
import { extractArchive, selectFiles, writeArchive } from '@runnerkit/cache-adapters/archive';
import type { StageHandlerContext, StageHandlers } from '@runnerkit/job-runtime';
import { create as tarCreate, extract as tarExtract } from 'tar';
import { shellWord } from './connection.js';
import { errorMessage, SshExecutorError } from './errors.js';
import type { SshJobState } from './executor.js';

const GLOB = /[*?[{]/;

async function scratch(state: SshJobState): Promise<string> {
  const dir = join(state.options.workDir, `ssh-${state.job.payload.id}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function transferError(what: string, error: unknown): SshExecutorError {
  if (SshExecutorError.isInstance(error)) return error;
  return new SshExecutorError('SSH_EXECUTOR_TRANSFER', `${what}: ${errorMessage(error)}`, 'runner_system_failure', {
    cause: error,
  });
}

/** Copies `paths` (relative to `remoteDir`; missing ones skipped) from the remote host into `localDir`. */
export async function downloadTree(
  state: SshJobState,
  remoteDir: string,
  paths: readonly string[],
  localDir: string,
): Promise<void> {
  await mkdir(localDir, { recursive: true });
  if (paths.length === 0) return;
  const list = paths.map(shellWord).join(' ');
  const command = `cd ${shellWord(remoteDir)} 2>/dev/null || exit 0; set --; for p in ${list}; do if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; fi; done; [ $# -eq 0 ] && exit 0; exec tar -cf - -- "$@"`;
  const unpack = tarExtract({ cwd: localDir, preservePaths: false });
  const unpacked = new Promise<void>((resolve, reject) => {
    unpack.once('close', () => resolve());
    unpack.once('finish', () => resolve());
    unpack.once('end', () => resolve());
    unpack.once('error', reject);
  });
  const stderr: Buffer[] = [];
  let result: Awaited<ReturnType<typeof state.connection.exec>>;
  try {
    result = await state.connection.exec(command, {
      stdout: unpack as unknown as Writable,
      stderr: (chunk) => stderr.push(chunk),
    });
    await unpacked;
  } catch (error) {
    throw transferError(`cannot copy files from ${remoteDir} on the remote host`, error);
  }
  if (result.exitCode !== 0)
    throw new SshExecutorError(
      'SSH_EXECUTOR_TRANSFER',
      `cannot copy files from ${remoteDir} on the remote host (tar exit code ${result.exitCode}): ${Buffer.concat(stderr).toString().trim().slice(0, 500)}`,
    );
}

/** Copies the contents of `localDir` into `remoteDir` on the remote host (created if missing). */
export async function uploadTree(state: SshJobState, localDir: string, remoteDir: string): Promise<void> {
  const entries = await readdir(localDir);
  if (entries.length === 0) return;
  const stderr: Buffer[] = [];
  let exitCode: number;
  try {
    const pack = tarCreate({ cwd: localDir, portable: true }, entries);
    ({ exitCode } = await state.connection.exec(
      `mkdir -p ${shellWord(remoteDir)} && exec tar -xf - -C ${shellWord(remoteDir)}`,
      { stdin: pack as unknown as Readable, stderr: (chunk) => stderr.push(chunk) },
    ));
  } catch (error) {
    throw transferError(`cannot copy files to ${remoteDir} on the remote host`, error);
  }
  if (exitCode !== 0)
    throw new SshExecutorError(
      'SSH_EXECUTOR_TRANSFER',
      `cannot copy files to ${remoteDir} on the remote host (tar exit code ${exitCode}): ${Buffer.concat(stderr).toString().trim().slice(0, 500)}`,
    );
}

/** Copies one remote file to `localFile`; false when it does not exist. */
async function downloadFile(state: SshJobState, remoteFile: string, localFile: string): Promise<boolean> {
  const out = createWriteStream(localFile);
  const { exitCode } = await state.connection.exec(
    `[ -f ${shellWord(remoteFile)} ] || exit 3; exec cat ${shellWord(remoteFile)}`,
    { stdout: out },
  );
  if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
  return exitCode === 0;
}

/** The literal bases of `paths` (up to the first glob segment), or `.` for the whole project. */
function bases(paths: readonly string[], untracked: boolean): string[] {
  const found = new Set<string>();
  for (const path of paths) {
    const segments = path.replace(/^(\.\/)+/, '').split('/');
    const firstGlob = segments.findIndex((segment) => GLOB.test(segment));
    const base = posix.normalize((firstGlob === -1 ? segments : segments.slice(0, firstGlob)).join('/') || '.');
    if (base.startsWith('..') || base.startsWith('/')) continue; // selectFiles reports paths outside the project
    found.add(base);
  }
  if (untracked || found.has('.')) return ['.'];
  return [...found];
}

function notice(context: StageHandlerContext, text: string): void {
  context.output.write(`\x1b[32;1m${text}\x1b[0;m\n`, 'stdout');
}
function warn(context: StageHandlerContext, text: string): void {
  context.output.write(`\x1b[0;33m${text}\x1b[0;m\n`, 'stdout');
}

/**
 * The cache store refused an archive above `MaxUploadedArchiveSize` (the CLI's `RUNNER_CACHE_ARCHIVE_TOO_BIG`):
 * not a failure, the cache is kept locally.
 */
function storedOnlyLocally(error: unknown): error is Error {
  return error instanceof Error && (error as { code?: unknown }).code === 'RUNNER_CACHE_ARCHIVE_TOO_BIG';
}

/** The variables cacheArchiveSettings / artifactArchiveSettings read, as the job defines them. */
function archiveVariables(variables: { content(key: string): string | undefined }): ArchiveVariables {
  return Object.fromEntries(
    ['CACHE_COMPRESSION_FORMAT', 'CACHE_COMPRESSION_LEVEL', 'ARTIFACT_COMPRESSION_LEVEL'].map((key) => [
      key,
      variables.content(key),
    ]),
  );
}

export function createFileStages(getState: () => SshJobState): StageHandlers {
  const storageKey = (state: SshJobState, context: StageHandlerContext, key: string): string | undefined => {
    if (state.job.featureFlags.FF_HASH_CACHE_KEYS) return hashCacheKey(key);
    const sanitized = sanitizeCacheKey(key);
    if (!sanitized) {
      warn(context, 'Skipping cache extraction due to empty cache key');
      return undefined;
    }
    if (sanitized.changed) warn(context, `cache key "${key}" sanitized to "${sanitized.key}"`);
    return sanitized.key;
  };
  const collect = async (state: SshJobState, paths: readonly string[], untracked: boolean, dir: string) => {
    const root = join(dir, 'project');
    await downloadTree(state, state.job.directories.projectDir, bases(paths, untracked), root);
    return root;
  };

  return {
    async restoreCache(context, entries) {
      const state = getState();
      for (const entry of entries) {
        if (entry.policy === 'push') {
          notice(context, `Not downloading cache ${entry.key} due to policy`);
          continue;
        }
        const dir = await scratch(state);
        try {
          for (const candidate of [entry.key, ...entry.fallbackKeys]) {
            notice(context, `Checking cache for ${candidate}...`);
            const key = storageKey(state, context, candidate);
            if (!key) continue;
            const file = join(dir, 'cache.zip');
            let found = false;
            const remote = context.ports.cache ? await context.ports.cache.get(key, context.signal) : undefined;
            if (remote) {
              await pipeline(remote, createWriteStream(file));
              found = true;
            } else {
              if (!context.ports.cache)
                context.output.write(
                  'No URL provided, cache will not be downloaded from shared cache server. Instead a local version of cache will be extracted.\n',
                  'stdout',
                );
              found = await downloadFile(
                state,
                posix.join(state.job.directories.projectCacheDir, key, 'cache.zip'),
                file,
              );
            }
            if (!found) {
              warn(context, 'WARNING: Cache file does not exist');
              continue;
            }
            const tree = join(dir, 'tree');
            await extractArchive({ file, target: tree });
            await uploadTree(state, tree, state.job.directories.projectDir);
            notice(context, 'Successfully extracted cache');
            break;
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    },

    async archiveCache(context, entries) {
      const state = getState();
      for (const entry of entries) {
        if (entry.policy === 'pull') {
          notice(context, `Not uploading cache ${entry.key} due to policy`);
          continue;
        }
        notice(context, `Creating cache ${entry.key}...`);
        const key = storageKey(state, context, entry.key);
        if (!key) continue;
        const dir = await scratch(state);
        try {
          const paths = entry.paths.map((path) => state.job.variables.expand(path));
          const root = await collect(state, paths, entry.untracked, dir);
          const selection = await selectFiles({ root, paths, untracked: entry.untracked });
          for (const message of selection.messages) context.output.write(`${message}\n`, 'stdout');
          if (selection.entries.length === 0) {
            warn(context, 'WARNING: No files to cache.');
            continue;
          }
          const out = join(dir, 'archive');
          await mkdir(out);
          const settings = cacheArchiveSettings(archiveVariables(state.job.variables));
          for (const message of settings.warnings) warn(context, `WARNING: ${message}`);
          await writeArchive({
            root,
            entries: selection.entries,
            format: settings.format,
            level: settings.level,
            output: join(out, 'cache.zip'),
          });
          await writeFile(join(out, 'metadata.json'), JSON.stringify({ cachekey: entry.key }));
          await uploadTree(state, out, posix.join(state.job.directories.projectCacheDir, key));
          if (context.ports.cache) {
            try {
              await context.ports.cache.put(key, createReadStream(join(out, 'cache.zip')), context.signal);
            } catch (error) {
              // Above [runners.cache] MaxUploadedArchiveSize: GitLab keeps the local archive and says so.
              if (!storedOnlyLocally(error)) throw error;
              context.output.write(`${error.message}\n`, 'stdout');
            }
          } else
            context.output.write(
              'No URL provided, cache will not be uploaded to shared cache server. Cache will be stored only locally.\n',
              'stdout',
            );
          notice(context, 'Created cache');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    },

    async downloadArtifacts(context, dependencies) {
      const state = getState();
      const store = context.ports.artifacts;
      if (!store)
        throw new SshExecutorError(
          'SSH_EXECUTOR_TRANSFER',
          'no artifact store to download from',
          'runner_system_failure',
        );
      for (const dependency of dependencies) {
        notice(context, `Downloading artifacts for ${dependency.name} (${dependency.id})...`);
        const dir = await scratch(state);
        try {
          const file = join(dir, 'artifacts');
          await pipeline(await store.download(dependency, context.signal), createWriteStream(file));
          await extractArchive({ file, target: join(dir, 'tree') });
          await uploadTree(state, join(dir, 'tree'), state.job.directories.projectDir);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    },

    async uploadArtifacts(context, artifacts) {
      const state = getState();
      const store = context.ports.artifacts;
      for (const artifact of artifacts) {
        notice(context, 'Uploading artifacts...');
        const dir = await scratch(state);
        try {
          const paths = (artifact.paths ?? []).map((path: string) => state.job.variables.expand(path));
          const untracked = artifact.untracked === true;
          const root = await collect(state, paths, untracked, dir);
          const selection = await selectFiles({ root, paths, exclude: artifact.exclude ?? [], untracked });
          for (const message of selection.messages) context.output.write(`${message}\n`, 'stdout');
          if (selection.entries.length === 0) continue;
          const settings = artifactArchiveSettings(artifact.artifact_format, archiveVariables(state.job.variables));
          for (const message of settings.warnings) warn(context, `WARNING: ${message}`);
          const name = settings.fileName(state.job.variables.expand(artifact.name ?? ''));
          const file = join(dir, name);
          await writeArchive({
            root,
            entries: selection.entries,
            format: settings.format,
            level: settings.level,
            output: file,
          });
          if (!store)
            throw new SshExecutorError(
              'SSH_EXECUTOR_TRANSFER',
              'no artifact store to upload to',
              'runner_system_failure',
            );
          await store.upload(
            {
              name,
              artifactType: artifact.artifact_type ?? 'archive',
              artifactFormat: artifact.artifact_format || 'zip',
              expireIn: artifact.expire_in ?? undefined,
              body: createReadStream(file),
            },
            context.signal,
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    },
  };
}
