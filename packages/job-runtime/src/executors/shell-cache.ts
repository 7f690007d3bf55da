// Cache stages of the shell executor: archives are tar.gz files made by the host's `tar`, kept at
// `<cache_dir>/<project slug>/<key>/cache.tar.gz`, and also sent to / fetched from the cache port when the
// runner has one (job-execution §7). Cache failures never fail the job: the runtime turns errors into warnings.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, type Dirent } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import picomatch from 'picomatch';
import { StageFailedError } from '../errors.js';
import type { CacheEntry, StageHandlerContext } from '../executor/contract.js';
import { ANSI } from '../shell/writer.js';

const ARCHIVE = 'cache.tar.gz';

/** A key as a relative path inside the project cache dir, or undefined when it would escape it. */
export function cacheKeyPath(key: string): string | undefined {
  const normalized = posix.normalize(`/${key.replace(/\\/g, '/')}`).replace(/\/+$/, '');
  if (normalized === '' || normalized === '/') return undefined;
  return normalized.slice(1);
}

function yellow(context: StageHandlerContext, text: string): void {
  context.output.write(`${ANSI.yellow}${text}${ANSI.reset}\n`, 'stdout');
}

function runTar(args: readonly string[], cwd: string, context: StageHandlerContext): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], signal: context.signal });
    child.stdout.on('data', (chunk: Buffer) => context.output.write(chunk, 'stdout'));
    child.stderr.on('data', (chunk: Buffer) => context.output.write(chunk, 'stderr'));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new StageFailedError('cache', `tar ${args[0]} exited with ${code}`)),
    );
  });
}

export async function walk(root: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(posix.join(root, relative), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = relative ? `${relative}/${entry.name}` : entry.name;
    if (path === '.git') continue;
    out.push(path);
    if (entry.isDirectory()) out.push(...(await walk(root, path)));
  }
  return out;
}

/**
 * Paths (relative to the project dir) a cache or artifact entry selects: literal paths, globs (`*`, `**`, `?`,
 * `{a,b}`), and with `untracked` every file `git ls-files -o` lists.
 */
export async function selectPaths(
  projectDir: string,
  entry: { paths: readonly string[]; untracked: boolean },
  context: StageHandlerContext,
): Promise<string[]> {
  const selected = new Set<string>();
  let tree: string[] | undefined;
  for (const raw of entry.paths) {
    const pattern = posix.normalize(context.job.variables.expand(raw)).replace(/\/+$/, '');
    if (pattern.startsWith('../') || pattern === '..' || pattern.startsWith('/')) {
      context.log.warning(`${raw}: artifact path is not a subpath of project directory: ${projectDir}`);
      continue;
    }
    if (!picomatch.scan(pattern).isGlob) {
      if (existsSync(posix.join(projectDir, pattern))) {
        selected.add(pattern);
        context.output.write(`${raw}: found 1 matching artifact files and directories\n`, 'stdout');
      } else
        context.log.warning(
          `${raw}: no matching files. Ensure that the artifact path is relative to the working directory (${projectDir})`,
        );
      continue;
    }
    tree ??= await walk(projectDir);
    const isMatch = picomatch(pattern, { dot: true });
    const matches = tree.filter((path) => isMatch(path));
    if (matches.length === 0)
      context.log.warning(
        `${raw}: no matching files. Ensure that the artifact path is relative to the working directory (${projectDir})`,
      );
    else context.output.write(`${raw}: found ${matches.length} matching artifact files and directories\n`, 'stdout');
    for (const match of matches) selected.add(match);
  }
  if (entry.untracked) {
    const untracked = await new Promise<string[]>((resolve) => {
      const child = spawn('git', ['ls-files', '-o', '-z'], { cwd: projectDir, stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      child.on('error', () => resolve([]));
      child.on('close', () => resolve(Buffer.concat(chunks).toString('utf8').split('\0').filter(Boolean)));
    });
    context.output.write(`untracked: found ${untracked.length} files\n`, 'stdout');
    for (const path of untracked) selected.add(path);
  }
  // tar recurses into directories: drop what a selected ancestor already brings.
  return [...selected].sort().filter((path) => {
    for (let parent = posix.dirname(path); parent !== '.'; parent = posix.dirname(parent))
      if (selected.has(parent)) return false;
    return true;
  });
}

export async function restoreCacheLocally(context: StageHandlerContext, entries: readonly CacheEntry[]): Promise<void> {
  const { projectDir, projectCacheDir } = context.job.directories;
  await mkdir(projectDir, { recursive: true });
  for (const entry of entries) {
    if (entry.policy === 'push') {
      context.log.info(`Not downloading cache ${entry.key} due to policy`);
      continue;
    }
    for (const key of [entry.key, ...entry.fallbackKeys]) {
      context.log.info(`Checking cache for ${key}...`);
      const keyPath = cacheKeyPath(key);
      if (!keyPath) {
        yellow(context, `Skipping cache extraction due to empty cache key`);
        continue;
      }
      const archive = posix.join(projectCacheDir, keyPath, ARCHIVE);
      try {
        if (context.ports.cache) {
          const body = await context.ports.cache.get(key, context.signal);
          if (body) {
            await mkdir(posix.dirname(archive), { recursive: true });
            await pipeline(Readable.from(body), createWriteStream(`${archive}.download`));
            await rename(`${archive}.download`, archive);
          }
        }
        if (!existsSync(archive)) {
          context.log.warning('Cache file does not exist');
          yellow(context, 'Failed to extract cache');
          continue;
        }
        await runTar(['-xzf', archive, '-C', projectDir], projectDir, context);
        context.log.info('Successfully extracted cache');
        break;
      } catch (error) {
        if (context.signal.aborted) throw error;
        yellow(context, 'Failed to extract cache');
      }
    }
  }
}

export async function archiveCacheLocally(context: StageHandlerContext, entries: readonly CacheEntry[]): Promise<void> {
  const { projectDir, projectCacheDir } = context.job.directories;
  for (const entry of entries) {
    if (entry.policy === 'pull') {
      context.log.info(`Not uploading cache ${entry.key} due to policy`);
      continue;
    }
    context.log.info(`Creating cache ${entry.key}...`);
    const keyPath = cacheKeyPath(entry.key);
    if (!keyPath) {
      yellow(context, 'Failed to create cache');
      continue;
    }
    const paths = await selectPaths(projectDir, entry, context);
    if (paths.length === 0) {
      context.log.warning('No files to cache.');
      continue;
    }
    const archive = posix.join(projectCacheDir, keyPath, ARCHIVE);
    const temporary = `${archive}.${process.pid}.tmp`;
    try {
      await mkdir(posix.dirname(archive), { recursive: true });
      await runTar(['-czf', temporary, '-C', projectDir, '--', ...paths], projectDir, context);
      await rename(temporary, archive);
      if (context.ports.cache) {
        await context.ports.cache.put(entry.key, createReadStream(archive), context.signal);
        context.output.write(`Uploaded ${(await stat(archive)).size} bytes to the cache store\n`, 'stdout');
      }
      context.log.info('Created cache');
    } catch (error) {
      await rm(temporary, { force: true });
      if (context.signal.aborted) throw error;
      yellow(context, 'Failed to create cache');
    }
  }
}
