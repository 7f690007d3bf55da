// Caches and artifacts without a helper image: files leave and enter the build container through the archive
// API; archives are built and read on the runner host with @runnerkit/cache-adapters (docker-executor §3.2).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
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
import { extract as tarExtract } from 'tar-stream';
import { DockerExecutorError } from './errors.js';
import type { DockerJobState } from './executor.js';
import { directoryTar } from './tar.js';

const GLOB = /[*?[{]/;

async function scratch(state: DockerJobState): Promise<string> {
  const dir = join(state.options.workDir, 'tmp', `${state.job.payload.id}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Extracts a container tar stream under `target` with node's fs (directories, files, symlinks). */
async function untar(stream: Readable, target: string): Promise<number> {
  const { x } = await import('tar');
  await mkdir(target, { recursive: true });
  let count = 0;
  await pipeline(
    stream,
    x({
      cwd: target,
      preservePaths: false,
      onentry: () => {
        count++;
      },
    }) as unknown as NodeJS.WritableStream,
  );
  return count;
}

/** Reads the single file a GET archive of a file path returns. */
async function readSingleFile(stream: Readable, file: string): Promise<boolean> {
  const extract = tarExtract();
  let found = false;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      if (header.type === 'file' && !found) {
        found = true;
        pipeline(body, createWriteStream(file)).then(() => next(), reject);
      } else {
        body.resume();
        body.on('end', () => next());
      }
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  stream.pipe(extract);
  await done;
  return found;
}

/**
 * Copies the literal bases of `paths` (or the whole project for `untracked`) from the container into
 * `<stage>/<project base name>` and returns that directory (the selection root).
 */
async function collect(
  state: DockerJobState,
  context: StageHandlerContext,
  paths: readonly string[],
  untracked: boolean,
  stage: string,
): Promise<string> {
  const project = state.job.directories.projectDir;
  const root = join(stage, posix.basename(project));
  await mkdir(root, { recursive: true });
  let bases = new Set<string>();
  for (const path of paths) {
    const segments = path.replace(/^(\.\/)+/, '').split('/');
    const firstGlob = segments.findIndex((segment) => GLOB.test(segment));
    const base = posix.normalize((firstGlob === -1 ? segments : segments.slice(0, firstGlob)).join('/') || '.');
    if (base.startsWith('..') || base.startsWith('/')) continue; // selectFiles reports paths outside the project
    bases.add(base);
  }
  if (untracked || bases.has('.')) bases = new Set(['.']);
  for (const base of bases) {
    const source = base === '.' ? project : posix.join(project, base);
    let archive: { tar: Readable };
    try {
      archive = await state.client.containers.getArchive(state.buildContainer, source, { signal: context.signal });
    } catch {
      continue; // missing paths are silent (the selection reports "no matching files")
    }
    // the tar's top entry is the base name of `source`
    await untar(archive.tar, base === '.' ? stage : join(root, posix.dirname(base)));
  }
  return root;
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

async function putTree(state: DockerJobState, context: StageHandlerContext, hostDir: string, target: string) {
  await state.client.containers.putArchive(state.buildContainer, '/', directoryTar({ hostDir, target }), {
    signal: context.signal,
  });
}

export function createFileStages(getState: () => DockerJobState): StageHandlers {
  const storageKey = (state: DockerJobState, context: StageHandlerContext, key: string): string | undefined => {
    if (state.job.featureFlags.FF_HASH_CACHE_KEYS) return hashCacheKey(key);
    const sanitized = sanitizeCacheKey(key);
    if (!sanitized) {
      warn(context, `Skipping cache extraction due to empty cache key`);
      return undefined;
    }
    if (sanitized.changed) warn(context, `cache key "${key}" sanitized to "${sanitized.key}"`);
    return sanitized.key;
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
              try {
                const archive = await state.client.containers.getArchive(
                  state.buildContainer,
                  posix.join(state.job.directories.projectCacheDir, key, 'cache.zip'),
                  { signal: context.signal },
                );
                found = await readSingleFile(archive.tar, file);
              } catch {
                found = false;
              }
            }
            if (!found) {
              warn(context, 'WARNING: Cache file does not exist');
              continue;
            }
            const tree = join(dir, 'tree');
            await extractArchive({ file, target: tree });
            await putTree(state, context, tree, state.job.directories.projectDir);
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
          const root = await collect(state, context, paths, entry.untracked, join(dir, 'stage'));
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
          await putTree(state, context, out, posix.join(state.job.directories.projectCacheDir, key));
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
        throw new DockerExecutorError(
          'DOCKER_EXECUTOR_TRANSFER',
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
          await putTree(state, context, join(dir, 'tree'), state.job.directories.projectDir);
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
          const root = await collect(state, context, paths, artifact.untracked === true, join(dir, 'stage'));
          const selection = await selectFiles({
            root,
            paths,
            exclude: artifact.exclude ?? [],
            untracked: artifact.untracked === true,
          });
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
            throw new DockerExecutorError(
              'DOCKER_EXECUTOR_TRANSFER',
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
