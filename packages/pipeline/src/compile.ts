import { readdir, readFile as readFileFs } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { PipelineConfigError, type PipelineIssue } from './errors.js';
import { filesCommitsDigest, filesContentDigest } from './git/cache-key.js';
import { createGitRunner, type GitFacts, type GitRunner, ZERO_SHA } from './git/read-git-facts.js';
import { type ListFiles, loadConfig, type ReadFile } from './normalize/include.js';
import { Collector, normalizeConfig } from './normalize/normalize.js';
import { planPipeline } from './plan/plan.js';
import type { CompiledPipeline, PipelineFacts } from './plan/planned-job.js';
import {
  type PayloadVariable,
  type PipelineInfo,
  type ProjectInfo,
  pipelinePredefinedVariables,
  variable,
} from './variables/predefined.js';

/** A variable the caller sets for the pipeline (as project, group or pipeline variables in GitLab). */
export interface CallerVariable {
  key: string;
  value: string;
  masked?: boolean;
  file?: boolean;
  raw?: boolean;
  /** Defaults to `!masked`. */
  public?: boolean;
}

export interface CompilePipelineOptions {
  /** The text of the main CI file. */
  yaml: string;
  /** Its name in messages and `CI_CONFIG_PATH` (default `.gitlab-ci.yml`). */
  fileName?: string;
  /** Project root: `include:local` and `rules:exists` read files here unless readFile/listFiles are given. */
  projectDir?: string;
  /** Pipeline variables; they win over every YAML variable. */
  variables?: Readonly<Record<string, string>> | readonly CallerVariable[];
  /** Branch or tag to run for (overrides gitFacts.ref; `refs/tags/x` makes it a tag). */
  ref?: string;
  /** Reads a project file by its path relative to the project root (for include:local). */
  readFile?: ReadFile;
  /** Lists every project file, relative to the root, `/`-separated (for rules:exists and include wildcards). */
  listFiles?: ListFiles;
  /** The commit (see readGitFacts); without it the pipeline runs for `ref` (default `main`) at a zero sha. */
  gitFacts?: GitFacts;
  /** Files changed by the push, for rules:changes and only:changes; unknown (all changes true) when absent. */
  changedFiles?: readonly string[];
  project?: Partial<ProjectInfo>;
  pipeline?: Partial<PipelineInfo>;
  /** GitLab's URL as jobs see it (CI_SERVER_URL); default `http://127.0.0.1`. */
  serverUrl?: string;
  /**
   * Whether the ref is protected: `CI_COMMIT_REF_PROTECTED` (also in `rules:if`), and the default of the payloads'
   * `git_info.protected` and cache key suffix. Default false.
   */
  protectedRef?: boolean;
  /**
   * Runs git in the checkout, to compute `cache:key:files` / `files_commits` keys as GitLab does. Default: a runner
   * for `projectDir` when `gitFacts` is given. Without either, such keys are `default` (or the payload context's
   * `cacheKeyForFiles`).
   */
  git?: GitRunner;
}

export type CompileResult =
  | { ok: true; pipeline: CompiledPipeline }
  | { ok: false; issues: PipelineIssue[]; error: PipelineConfigError };

function fail(issues: PipelineIssue[]): CompileResult {
  return { ok: false, issues, error: new PipelineConfigError(issues) };
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function projectReader(dir: string): ReadFile {
  const root = resolve(dir);
  return async (path) => {
    const full = resolve(root, path);
    if (full !== root && !full.startsWith(root + sep)) throw new Error(`${path} is outside the project`);
    return readFileFs(full, 'utf8');
  };
}

function projectLister(dir: string): ListFiles {
  const root = resolve(dir);
  return async () => {
    const out: string[] = [];
    const walk = async (current: string) => {
      for (const entry of await readdir(current, { withFileTypes: true })) {
        if (entry.name === '.git') continue;
        const full = join(current, entry.name);
        if (entry.isDirectory()) await walk(full);
        else out.push(toPosix(relative(root, full)));
      }
    };
    await walk(root);
    return out.sort();
  };
}

function projectFromRemote(remoteUrl: string | undefined): string | undefined {
  if (!remoteUrl) return undefined;
  const match = /^(?:[a-z+]+:\/\/[^/]+\/|[^@]+@[^:]+:)(.+?)(?:\.git)?\/?$/.exec(remoteUrl);
  return match?.[1]?.includes('/') ? match[1] : undefined;
}

function callerVariables(input: CompilePipelineOptions['variables']): PayloadVariable[] {
  if (!input) return [];
  const list: CallerVariable[] = Array.isArray(input)
    ? [...(input as readonly CallerVariable[])]
    : Object.entries(input as Record<string, string>).map(([key, value]) => ({ key, value }));
  return list.map((v) =>
    variable(v.key, v.value, {
      public: v.public ?? !v.masked,
      masked: v.masked ?? false,
      file: v.file ?? false,
      raw: v.raw ?? false,
    }),
  );
}

/**
 * Compiles a `.gitlab-ci.yml` into the pipeline GitLab would create: parse → include/extends/default →
 * workflow and job rules → parallel, needs, dependencies. Never throws for a bad configuration: the result
 * lists every issue with file, line and key path.
 */
export async function compilePipeline(options: CompilePipelineOptions): Promise<CompileResult> {
  const fileName = options.fileName ?? '.gitlab-ci.yml';
  const readFile = options.readFile ?? (options.projectDir ? projectReader(options.projectDir) : undefined);
  const listFiles = options.listFiles ?? (options.projectDir ? projectLister(options.projectDir) : undefined);
  const loadOptions: { readFile?: ReadFile; listFiles?: ListFiles } = {};
  if (readFile) loadOptions.readFile = readFile;
  if (listFiles) loadOptions.listFiles = listFiles;
  const loaded = await loadConfig(options.yaml, fileName, loadOptions);
  if (!loaded.ok) return fail(loaded.issues);
  const normalized = normalizeConfig(loaded.loaded);
  if (!normalized.ok) return fail(normalized.issues);

  let git: GitFacts = options.gitFacts
    ? { ...options.gitFacts }
    : {
        sha: ZERO_SHA,
        beforeSha: ZERO_SHA,
        ref: 'main',
        refType: 'branch',
        defaultBranch: 'main',
        message: '',
        author: '',
        timestamp: new Date(0).toISOString(),
        objectFormat: 'sha1',
      };
  if (options.ref !== undefined) {
    const tag = options.ref.startsWith('refs/tags/');
    git = {
      ...git,
      ref: options.ref.replace(/^refs\/(heads|tags)\//, ''),
      refType: tag ? 'tag' : options.ref.startsWith('refs/heads/') ? 'branch' : git.refType,
    };
  }
  const path =
    options.project?.path ??
    projectFromRemote(git.remoteUrl) ??
    `local/${options.projectDir ? basename(resolve(options.projectDir)) : 'project'}`;
  const project: ProjectInfo = { id: options.project?.id ?? 1, path };
  if (options.project?.title) project.title = options.project.title;
  if (options.project?.visibility) project.visibility = options.project.visibility;
  const pipeline: PipelineInfo = {
    id: options.pipeline?.id ?? 1,
    iid: options.pipeline?.iid ?? options.pipeline?.id ?? 1,
    source: options.pipeline?.source ?? 'push',
  };
  if (options.pipeline?.createdAt) pipeline.createdAt = options.pipeline.createdAt;
  const serverUrl = options.serverUrl ?? 'http://127.0.0.1';
  const facts: PipelineFacts = {
    git,
    project,
    pipeline,
    serverUrl,
    configPath: fileName,
    callerVariables: callerVariables(options.variables),
  };
  if (options.protectedRef !== undefined) facts.protectedRef = options.protectedRef;
  const needsFiles =
    normalized.config.jobs.some((j) => j.rules?.some((r) => r.exists)) ||
    normalized.config.workflow.rules?.some((r) => r.exists);
  const projectFiles = needsFiles && listFiles ? await listFiles() : [];
  const predefinedVariables = pipelinePredefinedVariables({
    git,
    project,
    pipeline,
    serverUrl,
    configPath: fileName,
    protectedRef: options.protectedRef ?? false,
  });
  const issues = new Collector(loaded.loaded);
  const planInput: Parameters<typeof planPipeline>[0] = {
    config: normalized.config,
    facts,
    predefinedVariables,
    projectFiles,
    issues,
  };
  if (options.changedFiles) planInput.changedFiles = options.changedFiles;
  const planned = planPipeline(planInput);
  if (!planned.ok) return fail(planned.issues);
  if (planned.pipeline.name) {
    pipeline.name = planned.pipeline.name;
    predefinedVariables.push(variable('CI_PIPELINE_NAME', planned.pipeline.name));
  }
  const gitRunner =
    options.git ?? (options.gitFacts && options.projectDir ? createGitRunner(options.projectDir) : undefined);
  if (gitRunner && git.sha !== ZERO_SHA) await computeCacheKeys(planned.pipeline, gitRunner, git.sha);
  return { ok: true, pipeline: planned.pipeline };
}

/**
 * Fills `digest` of every `cache:key:files` / `files_commits` key from the commit, as GitLab does when it creates
 * the pipeline. A git failure leaves the key without a digest (the payload then falls back to `default`).
 */
async function computeCacheKeys(pipeline: CompiledPipeline, git: GitRunner, sha: string): Promise<void> {
  const digests = new Map<string, Promise<string | undefined>>();
  const digest = (kind: 'content' | 'commits', files: readonly string[]) => {
    const id = JSON.stringify([kind, files]);
    let found = digests.get(id);
    if (!found) {
      const compute = kind === 'content' ? filesContentDigest : filesCommitsDigest;
      found = compute(git, sha, files).catch(() => undefined);
      digests.set(id, found);
    }
    return found;
  };
  for (const job of pipeline.jobs) {
    for (const [index, cache] of job.cache.entries()) {
      if (typeof cache.key === 'string') continue;
      const value =
        cache.key.files.length > 0
          ? await digest('content', cache.key.files)
          : cache.key.filesCommits && cache.key.filesCommits.length > 0
            ? await digest('commits', cache.key.filesCommits)
            : undefined;
      // Planned jobs may share a cache object (parallel instances): replace it rather than mutate it.
      if (value !== undefined) job.cache[index] = { ...cache, key: { ...cache.key, digest: value } };
    }
  }
}
