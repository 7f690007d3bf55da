import type { GitFacts } from '../git/read-git-facts.js';

/** A variable as it goes into the payload (job-spec's wire shape: `file`/`raw` only when true). */
export interface PayloadVariable {
  key: string;
  value: string;
  public: boolean;
  masked: boolean;
  file?: boolean;
  raw?: boolean;
}

/** The project the pipeline belongs to. */
export interface ProjectInfo {
  id: number;
  /** `group/sub/project`. */
  path: string;
  /** Display name; defaults to the last path segment. */
  title?: string;
  visibility?: 'private' | 'internal' | 'public';
}

export interface PipelineInfo {
  id: number;
  iid: number;
  /** `CI_PIPELINE_SOURCE`: push, web, schedule, api, trigger, merge_request_event, … */
  source: string;
  /** ISO 8601. */
  createdAt?: string;
  name?: string;
}

/** GitLab's `CI_COMMIT_REF_SLUG`: lower-cased, non-alphanumerics to `-`, at most 63 bytes, no `-` at the ends. */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

export function variable(
  key: string,
  value: string,
  flags: Partial<Omit<PayloadVariable, 'key' | 'value'>> = {},
): PayloadVariable {
  const out: PayloadVariable = { key, value, public: flags.public ?? true, masked: flags.masked ?? false };
  if (flags.file) out.file = true;
  if (flags.raw) out.raw = true;
  return out;
}

/** Title and description as GitLab splits a commit message. */
export function splitCommitMessage(message: string): { title: string; description: string } {
  const trimmed = message.replace(/\r\n/g, '\n');
  const newline = trimmed.indexOf('\n');
  if (newline === -1) return { title: trimmed, description: '' };
  const title = trimmed.slice(0, newline);
  const description = trimmed.slice(newline + 1).replace(/^\n+/, '');
  return { title, description };
}

/**
 * Predefined variables that are the same for every job of a pipeline (project, pipeline, commit, server).
 * Never CI_PROJECT_DIR or CI_BUILDS_DIR: those are the runner's.
 */
export function pipelinePredefinedVariables(input: {
  git: GitFacts;
  project: ProjectInfo;
  pipeline: PipelineInfo;
  serverUrl: string;
  configPath: string;
  /** `CI_COMMIT_REF_PROTECTED`; default false. */
  protectedRef?: boolean;
}): PayloadVariable[] {
  const { git, project, pipeline, serverUrl } = input;
  const server = new URL(serverUrl);
  const base = serverUrl.replace(/\/+$/, '');
  const segments = project.path.split('/');
  const name = segments[segments.length - 1] ?? project.path;
  const namespace = segments.slice(0, -1).join('/');
  const projectUrl = `${base}/${project.path}`;
  const { title, description } = splitCommitMessage(git.message);
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');
  const vars: PayloadVariable[] = [
    variable('CI', 'true'),
    variable('GITLAB_CI', 'true'),
    variable('CI_SERVER', 'yes'),
    variable('CI_SERVER_URL', base),
    variable('CI_SERVER_HOST', server.hostname),
    variable('CI_SERVER_PORT', port),
    variable('CI_SERVER_PROTOCOL', server.protocol.replace(':', '')),
    variable('CI_SERVER_FQDN', server.port ? `${server.hostname}:${server.port}` : server.hostname),
    variable('CI_SERVER_NAME', 'GitLab'),
    variable('CI_API_V4_URL', `${base}/api/v4`),
    variable('CI_PROJECT_ID', String(project.id)),
    variable('CI_PROJECT_NAME', name),
    variable('CI_PROJECT_TITLE', project.title ?? name),
    variable('CI_PROJECT_PATH', project.path),
    variable('CI_PROJECT_PATH_SLUG', slugify(project.path)),
    variable('CI_PROJECT_NAMESPACE', namespace),
    variable('CI_PROJECT_ROOT_NAMESPACE', segments[0] ?? ''),
    variable('CI_PROJECT_URL', projectUrl),
    variable('CI_PROJECT_VISIBILITY', project.visibility ?? 'private'),
    variable('CI_DEFAULT_BRANCH', git.defaultBranch),
    variable('CI_CONFIG_PATH', input.configPath),
    variable('CI_PIPELINE_ID', String(pipeline.id)),
    variable('CI_PIPELINE_IID', String(pipeline.iid)),
    variable('CI_PIPELINE_SOURCE', pipeline.source),
    variable('CI_PIPELINE_URL', `${projectUrl}/-/pipelines/${pipeline.id}`),
  ];
  if (pipeline.createdAt) vars.push(variable('CI_PIPELINE_CREATED_AT', pipeline.createdAt));
  if (pipeline.name) vars.push(variable('CI_PIPELINE_NAME', pipeline.name));
  vars.push(
    variable('CI_COMMIT_SHA', git.sha),
    variable('CI_COMMIT_SHORT_SHA', git.sha.slice(0, 8)),
    variable('CI_COMMIT_BEFORE_SHA', git.beforeSha),
    variable('CI_COMMIT_REF_NAME', git.ref),
    variable('CI_COMMIT_REF_SLUG', slugify(git.ref)),
  );
  if (git.refType === 'tag') vars.push(variable('CI_COMMIT_TAG', git.ref));
  else if (pipeline.source !== 'merge_request_event') vars.push(variable('CI_COMMIT_BRANCH', git.ref));
  vars.push(
    variable('CI_COMMIT_MESSAGE', git.message),
    variable('CI_COMMIT_TITLE', title),
    variable('CI_COMMIT_DESCRIPTION', description),
    variable('CI_COMMIT_AUTHOR', git.author),
    variable('CI_COMMIT_TIMESTAMP', git.timestamp),
    variable('CI_COMMIT_REF_PROTECTED', input.protectedRef ? 'true' : 'false'),
  );
  return vars;
}
