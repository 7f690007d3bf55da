// Identifiers, directories and duration formats (job-execution §2.3, §3).
import { posix } from 'node:path';
import { ExecutorError } from '../errors.js';
import type { ExecutorDirectories, JobDirectories } from '../executor/contract.js';

/** `CI_RUNNER_SHORT_TOKEN`: one known prefix removed, then the first 9 characters. */
export function shortToken(token: string): string {
  let rest = token;
  const glrt = /^glrt-(t[123]_)?/.exec(rest);
  if (glrt) rest = rest.slice(glrt[0].length);
  else if (/^t[123]_/.test(rest)) rest = rest.slice(3);
  else if (rest.startsWith('glrtr-') || rest.startsWith('glcbt-')) rest = rest.slice(6);
  else if (/^GR[0-9a-fA-F]{7}/.test(rest)) rest = rest.slice(9);
  return rest.slice(0, 9);
}

/** The project path slug from the repository URL, else `project-<id>` (job-execution §3.2). */
export function projectSlug(repoUrl: string | null | undefined, projectId: number | null | undefined): string {
  const fallback = `project-${projectId ?? 0}`;
  if (!repoUrl) return fallback;
  let url: URL;
  try {
    url = new URL(repoUrl);
  } catch {
    return fallback;
  }
  if (url.host === '') return fallback;
  // WHATWG URLs resolve `..`; Go's do not, and GitLab refuses such paths: look at the text as written.
  const rawPath = repoUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, '').replace(/[?#].*$/, '');
  if (/(^|\/)\.\.(\/|$)/.test(decodeURIComponent(rawPath))) return fallback;
  const path = decodeURIComponent(url.pathname).replace(/\.git$/, '');
  if (path.split('/').includes('..')) return fallback;
  const cleaned = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, '');
  return cleaned === '' ? fallback : cleaned;
}

export interface DirectoryInput {
  executor: ExecutorDirectories;
  slug: string;
  shortToken: string;
  concurrentProjectId: number;
  gitStrategy: string;
  /** `GIT_CLONE_PATH`, already expanded (with `CI_BUILDS_DIR` known). */
  clonePath?: string | undefined;
}

/** The job's directories; throws a configuration ExecutorError for a refused GIT_CLONE_PATH. */
export function jobDirectories(input: DirectoryInput): JobDirectories {
  const { buildsDir, cacheDir, sharedBuildsDir, customBuildDir } = input.executor;
  if (!buildsDir) throw new ExecutorError('the builds_dir is not configured', 'runner_configuration_error');
  if (!cacheDir) throw new ExecutorError('the cache_dir is not configured', 'runner_configuration_error');
  const suffix = input.gitStrategy === 'empty' ? '-empty' : '';
  let projectDir: string;
  if (input.clonePath) {
    if (!customBuildDir)
      throw new ExecutorError(
        'setting GIT_CLONE_PATH is not allowed, enable `custom_build_dir` feature',
        'runner_configuration_error',
      );
    const cleaned = posix.normalize(input.clonePath).replace(/\/+$/, '');
    const base = posix.normalize(buildsDir).replace(/\/+$/, '');
    if (!cleaned.startsWith(`${base}/`))
      throw new ExecutorError(
        `the GIT_CLONE_PATH=${JSON.stringify(input.clonePath)} has to be within ${JSON.stringify(buildsDir)}`,
        'runner_configuration_error',
      );
    projectDir = cleaned + suffix;
  } else if (sharedBuildsDir) {
    projectDir = posix.join(buildsDir, input.shortToken, String(input.concurrentProjectId), input.slug) + suffix;
  } else {
    projectDir = posix.join(buildsDir, input.slug) + suffix;
  }
  return {
    buildsDir,
    projectDir,
    tmpDir: `${projectDir}.tmp`,
    cacheDir,
    projectCacheDir: posix.join(cacheDir, input.slug) + suffix,
    slug: input.slug,
  };
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(trimmed);
  if (!match) return undefined;
  let total = 0;
  for (const part of trimmed.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g))
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return match[1] === '-' ? -total : total;
}

/** Go's Duration.String for whole seconds and above (`1h0m0s`, `2m30s`, `45s`). */
export function formatGoDuration(milliseconds: number): string {
  if (milliseconds === 0) return '0s';
  const negative = milliseconds < 0;
  let rest = Math.abs(milliseconds);
  if (rest < 1000) return `${negative ? '-' : ''}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  const secondsText = `${Number.isInteger(seconds) ? seconds : Number(seconds.toFixed(9))}s`;
  const text =
    hours > 0 ? `${hours}h${minutes}m${secondsText}` : minutes > 0 ? `${minutes}m${secondsText}` : secondsText;
  return (negative ? '-' : '') + text;
}
