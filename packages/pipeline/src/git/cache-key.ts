import { createHash } from 'node:crypto';
import type { GitRunner } from './read-git-facts.js';

/** GitLab's wildcard paths (`search_files_by_wildcard_path`): `**` is anything, `*` anything but `/`. */
function wildcardPattern(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const source = escaped
    .split('**')
    .map((part) => part.replaceAll('*', '[^/]*?'))
    .join('.*?');
  return new RegExp(`^${source}$`);
}

/** GitLab's digest: SHA-1 of the sorted, de-duplicated ids joined by `-`, or undefined when there is none. */
function digestOf(ids: readonly (string | undefined)[]): string | undefined {
  const unique = [...new Set(ids.filter((id): id is string => id !== undefined && id !== ''))].sort();
  return unique.length > 0 ? createHash('sha1').update(unique.join('-')).digest('hex') : undefined;
}

/**
 * `cache:key:files` as current GitLab computes it (gitlab-org/gitlab!203233): the blob ids of the listed files at `sha` (wildcards
 * expanded over the commit's tree), hashed; `default` when none of them exists.
 */
export async function filesContentDigest(git: GitRunner, sha: string, files: readonly string[]): Promise<string> {
  const wanted = [...new Set(files.filter((file) => file !== ''))];
  if (wanted.length === 0) return 'default';
  const listing = await git(['ls-tree', '-r', '-z', '--full-tree', sha]);
  const blobs = new Map<string, string>();
  for (const entry of listing.split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const [, type, id] = entry.slice(0, tab).split(' ');
    if (type === 'blob' && id) blobs.set(entry.slice(tab + 1), id);
  }
  const ids: string[] = [];
  for (const pattern of wanted) {
    if (pattern.includes('*')) {
      const matcher = wildcardPattern(pattern);
      for (const [path, id] of blobs) if (matcher.test(path)) ids.push(id);
    } else {
      const id = blobs.get(pattern.replace(/^\.?\//, ''));
      if (id) ids.push(id);
    }
  }
  return digestOf(ids) ?? 'default';
}

/**
 * `cache:key:files_commits` (and `cache:key:files` before gitlab-org/gitlab!203233): the last commit at or before `sha` that
 * changed each listed path (a git pathspec), hashed; `default` when no commit changed any of them.
 */
export async function filesCommitsDigest(git: GitRunner, sha: string, files: readonly string[]): Promise<string> {
  const wanted = [...new Set(files.filter((file) => file !== ''))];
  const ids = await Promise.all(
    wanted.map(async (path) => (await git(['log', '-1', '--format=%H', sha, '--', path])).trim()),
  );
  return digestOf(ids) ?? 'default';
}
