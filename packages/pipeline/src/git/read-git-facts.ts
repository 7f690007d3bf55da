import { execFile } from 'node:child_process';
import { GitFactsError } from '../errors.js';

/** What a pipeline needs to know about the commit it runs for. */
export interface GitFacts {
  sha: string;
  /** The commit before the push; all zeros when unknown (a new branch), as GitLab sends. */
  beforeSha: string;
  /** Branch or tag name (not a full ref). */
  ref: string;
  refType: 'branch' | 'tag';
  defaultBranch: string;
  /** Full commit message. */
  message: string;
  /** `Name <email>`. */
  author: string;
  /** Committer date, ISO 8601. */
  timestamp: string;
  /** `origin`'s URL, when there is one. */
  remoteUrl?: string;
  objectFormat: 'sha1' | 'sha256';
}

/** Runs git with `args` in the checkout and resolves with its stdout; rejects when git fails. */
export type GitRunner = (args: readonly string[]) => Promise<string>;

export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** A {@link GitRunner} that spawns `git` in `dir` (the only place this package starts a process). */
export function createGitRunner(dir: string, gitBinary = 'git'): GitRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        gitBinary,
        ['-C', dir, ...args],
        { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) reject(Object.assign(error, { stderr }));
          else resolve(stdout);
        },
      );
    });
}

/**
 * Reads the facts of the checkout at `dir` (or through `git`, a runner you pass): HEAD's sha, message and author,
 * the branch or tag it is on (`ref` overrides), the default branch (origin's HEAD, else `main` when it exists,
 * else the current branch) and origin's URL.
 */
export async function readGitFacts(dir: string, options: { ref?: string; git?: GitRunner } = {}): Promise<GitFacts> {
  const git = options.git ?? createGitRunner(dir);
  const run = async (args: readonly string[]): Promise<string> => {
    try {
      return (await git(args)).trim();
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new GitFactsError(`git ${args.join(' ')} failed in ${dir}${stderr ? `: ${stderr}` : ''}`, { cause: error });
    }
  };
  const optional = (args: readonly string[]) => run(args).catch(() => undefined);

  const sha = await run(['rev-parse', 'HEAD']);
  const [message, author, timestamp, branch, tag, originHead, remoteUrl, objectFormat, hasMain] = await Promise.all([
    run(['log', '-1', '--format=%B', 'HEAD']),
    run(['log', '-1', '--format=%an <%ae>', 'HEAD']),
    run(['log', '-1', '--format=%cI', 'HEAD']),
    optional(['symbolic-ref', '--short', '-q', 'HEAD']),
    optional(['describe', '--tags', '--exact-match', 'HEAD']),
    optional(['symbolic-ref', '--short', '-q', 'refs/remotes/origin/HEAD']),
    optional(['remote', 'get-url', 'origin']),
    optional(['rev-parse', '--show-object-format']),
    optional(['rev-parse', '--verify', '-q', 'refs/heads/main']),
  ]);
  let ref = options.ref;
  let refType: 'branch' | 'tag' = 'branch';
  if (ref === undefined) {
    if (branch) ref = branch;
    else if (tag) {
      ref = tag;
      refType = 'tag';
    } else ref = 'HEAD';
  } else if (ref.startsWith('refs/tags/')) {
    ref = ref.slice('refs/tags/'.length);
    refType = 'tag';
  } else if (ref.startsWith('refs/heads/')) ref = ref.slice('refs/heads/'.length);
  else if (tag === ref && branch !== ref) refType = 'tag';
  const defaultBranch = originHead?.replace(/^origin\//, '') || (hasMain ? 'main' : branch || ref);
  const facts: GitFacts = {
    sha,
    beforeSha: ZERO_SHA,
    ref,
    refType,
    defaultBranch,
    message: `${message}\n`.replace(/\n+$/, '\n'),
    author,
    timestamp,
    objectFormat: objectFormat === 'sha256' ? 'sha256' : 'sha1',
  };
  if (remoteUrl) facts.remoteUrl = remoteUrl;
  return facts;
}
