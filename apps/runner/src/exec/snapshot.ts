// The working tree as it is — committed, modified and untracked-but-not-ignored files — as one commit in a
// temporary repository, so jobs clone it exactly as `run` clones from GitLab.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Snapshot {
  /** The temporary checkout (`<tmp>/runnerkit-exec-…/<project dir name>`). */
  dir: string;
  /** The branch the commit is on (the checkout's branch, else `main`). */
  branch: string;
  sha: string;
  /** Removes the temporary repository. */
  remove(): Promise<void>;
}

async function git(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const { stdout } = await run('git', args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

async function tryGit(args: readonly string[], cwd: string): Promise<string | undefined> {
  try {
    return (await git(args, { cwd })).trim();
  } catch {
    return undefined;
  }
}

export async function snapshotWorkingTree(
  source: string,
  options: { temporaryDirectory?: string } = {},
): Promise<Snapshot> {
  const root = resolve(source);
  const parent = await mkdtemp(join(options.temporaryDirectory ?? tmpdir(), 'runnerkit-exec-'));
  const dir = join(parent, basename(root) || 'project');
  await mkdir(dir);
  const remove = () => rm(parent, { recursive: true, force: true });
  try {
    // The reads are independent: one round of processes instead of four.
    const [insideText, symbolicBranch, author, exclude] = await Promise.all([
      tryGit(['rev-parse', '--is-inside-work-tree'], root),
      tryGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], root),
      tryGit(['log', '-1', '--format=%an%n%ae%n%B'], root),
      tryGit(['rev-parse', '--path-format=absolute', '--git-path', 'info/exclude'], root),
    ]);
    const inside = insideText === 'true';
    const branch = (inside && symbolicBranch) || 'main';
    const [name = 'runnerkit', email = 'runnerkit@localhost', ...message] = ((inside && author) || '').split('\n');
    const subject = message.join('\n').trim() || `runnerkit exec: snapshot of ${basename(root)}`;

    await git(['init', '-q', `--initial-branch=${branch}`, dir]);
    if (inside && exclude) await copyFile(exclude, join(dir, '.git', 'info', 'exclude')).catch(() => undefined);
    const env = {
      ...process.env,
      GIT_DIR: join(dir, '.git'),
      GIT_WORK_TREE: root,
      GIT_AUTHOR_NAME: name || 'runnerkit',
      GIT_AUTHOR_EMAIL: email || 'runnerkit@localhost',
      GIT_COMMITTER_NAME: name || 'runnerkit',
      GIT_COMMITTER_EMAIL: email || 'runnerkit@localhost',
    };
    // .gitignore files of the tree (and the checkout's info/exclude) decide what is left out, as for `git add`.
    await git(['add', '-A', '--', '.'], { cwd: root, env });
    await git(['commit', '-q', '--allow-empty', '--no-verify', '-m', subject], { cwd: root, env });
    const [, head] = await Promise.all([
      git(['reset', '-q', '--hard'], { cwd: dir }),
      git(['rev-parse', 'HEAD'], { cwd: dir }),
    ]);
    const sha = head.trim();
    return { dir, branch, sha, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
