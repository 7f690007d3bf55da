import { execFile } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { ArchiveError } from '../errors.js';

export interface SelectFilesOptions {
  /** The project directory; every selected path is relative to it. */
  root: string;
  /** Paths or doublestar globs, already variable-expanded. */
  paths?: readonly string[];
  /** Doublestar patterns matched against each candidate's slash-separated relative path (artifacts only). */
  exclude?: readonly string[];
  /** Add every file `git ls-files -o -z` lists in `root` (git-ignored files included). */
  untracked?: boolean;
  /** The git binary for `untracked`; default `git`. */
  gitBinary?: string;
}

export interface SelectedEntry {
  /** Slash-separated path relative to the root. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
}

export interface FileSelection {
  entries: SelectedEntry[];
  /** Lines GitLab Runner prints while collecting (`found N matching …`, warnings). */
  messages: string[];
}

const GLOB_CHARS = /[*?[{]/;

function toSlash(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function typeOf(path: string): Promise<SelectedEntry['type'] | undefined> {
  try {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return 'symlink';
    if (info.isDirectory()) return 'directory';
    if (info.isFile()) return 'file';
    return undefined;
  } catch {
    return undefined;
  }
}

/** Walks a directory without following symlinks; yields the directory's contents, not the directory itself. */
async function walk(root: string, dir: string, add: (entry: SelectedEntry) => void): Promise<void> {
  let children: import('node:fs').Dirent[];
  try {
    children = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const child of children) {
    const full = join(dir, child.name);
    const path = toSlash(relative(root, full));
    if (child.isSymbolicLink()) add({ path, type: 'symlink' });
    else if (child.isDirectory()) {
      add({ path, type: 'directory' });
      await walk(root, full, add);
    } else if (child.isFile()) add({ path, type: 'file' });
  }
}

function untrackedFiles(root: string, git: string): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    execFile(git, ['ls-files', '-o', '-z'], { cwd: root, maxBuffer: 256 * 1024 * 1024 }, (error, stdout) => {
      if (error) {
        reject(
          new ArchiveError('ARCHIVE_UNTRACKED_FAILED', `git ls-files -o failed in ${root}: ${error.message}`, {
            cause: error,
          }),
        );
        return;
      }
      resolvePromise(stdout.split('\0').filter((name) => name !== ''));
    });
  });
}

/**
 * Collects files as GitLab Runner's artifact and cache archivers do: doublestar globs (without following
 * symlinks), each match walked recursively, symlinks kept as links, `exclude` patterns, `untracked`.
 */
export async function selectFiles(options: SelectFilesOptions): Promise<FileSelection> {
  const root = resolve(options.root);
  const found = new Map<string, SelectedEntry>();
  const messages: string[] = [];
  let order: SelectedEntry[] = [];
  const add = (entry: SelectedEntry) => {
    if (!found.has(entry.path)) {
      found.set(entry.path, entry);
      order.push(entry);
    }
  };

  for (const raw of options.paths ?? []) {
    const path = raw.replace(/^(\.\/)+/, '');
    let count = 0;
    const counting = (entry: SelectedEntry) => {
      count++;
      add(entry);
    };
    if (GLOB_CHARS.test(path)) {
      const segments = path.split('/');
      const firstGlob = segments.findIndex((segment) => GLOB_CHARS.test(segment));
      const base = resolve(root, segments.slice(0, firstGlob).join('/') || '.');
      if (!inside(root, base)) {
        throw new ArchiveError(
          'ARCHIVE_PATH_OUTSIDE_PROJECT',
          `artifact path is not a subpath of project directory: ${raw}`,
        );
      }
      const isMatch = picomatch(toSlash(relative(root, resolve(root, path))), { dot: true });
      const candidates: SelectedEntry[] = [];
      await walk(root, base, (entry) => candidates.push(entry));
      const matchedDirectories: string[] = [];
      for (const candidate of candidates) {
        const underMatched = matchedDirectories.some((dir) => candidate.path.startsWith(`${dir}/`));
        if (underMatched || isMatch(candidate.path)) {
          counting(candidate);
          if (candidate.type === 'directory' && !underMatched) matchedDirectories.push(candidate.path);
        }
      }
    } else {
      const full = resolve(root, path);
      if (!inside(root, full)) {
        messages.push(`WARNING: ${raw}: artifact path is not a subpath of project directory: ${root}`);
        continue;
      }
      const type = await typeOf(full);
      if (type !== undefined && full !== root) counting({ path: toSlash(relative(root, full)), type });
      if (type === 'directory') await walk(root, full, counting);
    }
    if (count === 0) {
      messages.push(
        `WARNING: ${raw}: no matching files. Ensure that the artifact path is relative to the working directory (${root})`,
      );
    } else {
      messages.push(`${raw}: found ${count} matching artifact files and directories`);
    }
  }

  if (options.untracked) {
    const files = await untrackedFiles(root, options.gitBinary ?? 'git');
    for (const file of files) {
      const type = await typeOf(join(root, file));
      if (type !== undefined) add({ path: file, type });
    }
    messages.push(`untracked: found ${files.length} files`);
  }

  for (const pattern of options.exclude ?? []) {
    const isMatch = picomatch(pattern.replace(/^(\.\/)+/, ''), { dot: true });
    let excluded = 0;
    order = order.filter((entry) => {
      if (!isMatch(entry.path)) return true;
      excluded++;
      found.delete(entry.path);
      return false;
    });
    messages.push(`${pattern}: excluded ${excluded} files`);
  }

  // Parents before children, byte order within a directory: stable archives for identical trees.
  order.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries: order, messages };
}
