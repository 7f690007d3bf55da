import {
  expandServerValue,
  GITLAB_FAILURE_REASONS,
  type JobPayload,
  type JobPayloadInput,
  JobPayloadSchema,
  type PullPolicy,
} from '@runnerkit/job-spec';
import { PipelineError } from '../errors.js';
import type { PlannedJob } from '../plan/planned-job.js';
import type { CacheConfig, ImageConfig, ServiceConfig } from '../types.js';
import { expandPayloadVariables } from '../variables/expand-payload.js';
import { type PayloadVariable, pipelinePredefinedVariables, slugify, variable } from '../variables/predefined.js';

/** A job whose artifacts this job downloads (api-spec §5.14). */
export interface DependencyJob {
  id: number;
  name: string;
  token: string;
  /** Present when the job uploaded an artifacts archive. */
  artifactsFile?: { filename: string; size: number };
}

/** What only the coordinator knows when it hands a job out. */
export interface JobPayloadContext {
  jobId: number;
  jobToken: string;
  /** Defaults to the compiled pipeline's id. */
  pipelineId?: number;
  projectId?: number;
  /** `group/project`; defaults to the compiled pipeline's project path. */
  projectPath?: string;
  /** Clone URL (credentials included, as GitLab sends); `null`/absent → the job gets `GIT_STRATEGY=none`. */
  repoUrl?: string | null;
  /** GitLab's URL as jobs see it (CI_SERVER_URL); defaults to the compiled pipeline's. */
  serverUrl?: string;
  /** The jobs in `plannedJob.dependencies`, with their ids, tokens and artifact files. */
  dependencies?: readonly DependencyJob[];
  /** Project timeout in seconds, used when the job sets none (default 3600, GitLab's default). */
  projectTimeout?: number;
  /** Project's git depth when the job sets no GIT_DEPTH (default 20). */
  gitDepth?: number;
  /**
   * Whether the ref is protected (`CI_COMMIT_REF_PROTECTED`, cache key suffix, `git_info.protected`); defaults to
   * the compiled pipeline's `protectedRef`, else false.
   */
  protectedRef?: boolean;
  /** Append GitLab's `-protected` / `-non_protected` suffix to cache keys (default true). */
  cacheKeySuffix?: boolean;
  /**
   * The key for `cache:key:files` / `files_commits` without its prefix. Default: the digest compilePipeline
   * computed from the git checkout (GitLab's format), else `default`.
   */
  cacheKeyForFiles?: (files: readonly string[]) => string;
  /** Registry credentials to send. */
  credentials?: readonly { type?: string; url: string; username: string; password: string }[];
  /** Failure reasons the fake GitLab accepts (default: all of GitLab's). */
  failureReasons?: readonly string[];
  userId?: number;
}

function image(config: ImageConfig | null, lookup: (text: string) => string) {
  if (!config) return null;
  return {
    name: lookup(config.name),
    entrypoint: config.entrypoint,
    ports: config.ports,
    executor_opts: config.executorOpts,
    pull_policy: config.pullPolicy as PullPolicy[] | null,
  };
}

function service(config: ServiceConfig, lookup: (text: string) => string) {
  return {
    ...image(config, lookup)!,
    alias: config.alias,
    command: config.command,
    variables: config.variables,
  };
}

const REPORT_FORMATS: Record<string, { name: string; format: 'zip' | 'gzip' | 'raw' }> = {
  junit: { name: 'junit.xml', format: 'gzip' },
  metrics: { name: 'metrics.txt', format: 'gzip' },
  dotenv: { name: '.env', format: 'gzip' },
  cobertura: { name: 'cobertura-coverage.xml', format: 'gzip' },
  jacoco: { name: 'jacoco-coverage.xml', format: 'gzip' },
  lsif: { name: 'lsif.json', format: 'zip' },
  cyclonedx: { name: 'gl-sbom.cdx.json', format: 'gzip' },
  annotations: { name: 'gl-annotations.json', format: 'gzip' },
  repository_xray: { name: 'gl-repository-xray.json', format: 'gzip' },
  sast: { name: 'gl-sast-report.json', format: 'raw' },
  secret_detection: { name: 'gl-secret-detection-report.json', format: 'raw' },
  dependency_scanning: { name: 'gl-dependency-scanning-report.json', format: 'raw' },
  container_scanning: { name: 'gl-container-scanning-report.json', format: 'raw' },
  cluster_image_scanning: { name: 'gl-cluster-image-scanning-report.json', format: 'raw' },
  dast: { name: 'gl-dast-report.json', format: 'raw' },
  license_scanning: { name: 'gl-license-scanning-report.json', format: 'raw' },
  accessibility: { name: 'gl-accessibility.json', format: 'raw' },
  codequality: { name: 'gl-code-quality-report.json', format: 'raw' },
  performance: { name: 'performance.json', format: 'raw' },
  browser_performance: { name: 'browser-performance.json', format: 'raw' },
  load_performance: { name: 'load-performance.json', format: 'raw' },
  terraform: { name: 'tfplan.json', format: 'raw' },
  requirements: { name: 'requirements.json', format: 'raw' },
  requirements_v2: { name: 'requirements_v2.json', format: 'raw' },
  coverage_fuzzing: { name: 'gl-coverage-fuzzing.json', format: 'raw' },
  api_fuzzing: { name: 'gl-api-fuzzing-report.json', format: 'raw' },
};

function artifacts(job: PlannedJob): JobPayloadInput['artifacts'] {
  const config = job.artifacts;
  if (!config) return null;
  const out: NonNullable<JobPayloadInput['artifacts']> = [];
  if (config.paths.length > 0 || config.untracked) {
    const entry: NonNullable<JobPayloadInput['artifacts']>[number] = {
      name: config.name ?? 'artifacts',
      untracked: config.untracked,
      paths: config.paths,
      when: config.when,
      expire_in: config.expireIn,
      artifact_type: 'archive',
      artifact_format: 'zip',
    };
    if (config.exclude.length > 0) entry.exclude = config.exclude;
    out.push(entry);
  }
  for (const [type, paths] of Object.entries(config.reports)) {
    const known = REPORT_FORMATS[type] ?? { name: `${type}.json`, format: 'raw' as const };
    out.push({
      name: known.name,
      paths,
      when: 'always',
      expire_in: config.expireIn,
      artifact_type: type === 'coverage_report' ? 'cobertura' : type,
      artifact_format: known.format,
    });
  }
  return out.length > 0 ? out : null;
}

function cacheKey(
  cache: CacheConfig,
  context: JobPayloadContext,
  protectedRef: boolean,
): { key: string; fallback: string[] } {
  let key: string;
  if (typeof cache.key === 'string') key = cache.key;
  else {
    const files = cache.key.files.length > 0 ? cache.key.files : (cache.key.filesCommits ?? []);
    const computed = context.cacheKeyForFiles ? context.cacheKeyForFiles(files) : (cache.key.digest ?? 'default');
    key = cache.key.prefix ? `${cache.key.prefix}-${computed}` : computed;
  }
  if (context.cacheKeySuffix === false) return { key, fallback: cache.fallbackKeys };
  const suffix = protectedRef && !cache.unprotect ? '-protected' : '-non_protected';
  return { key: key + suffix, fallback: cache.fallbackKeys.map((k) => k + suffix) };
}

function refspecs(pipelineId: number, ref: string, refType: 'branch' | 'tag', depth: number): string[] {
  const specs = [`+refs/pipelines/${pipelineId}:refs/pipelines/${pipelineId}`];
  if (depth > 0)
    specs.push(
      refType === 'tag' ? `+refs/tags/${ref}:refs/tags/${ref}` : `+refs/heads/${ref}:refs/remotes/origin/${ref}`,
    );
  else specs.push('+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*');
  return specs;
}

/**
 * The job payload exactly as GitLab puts it on the wire (`artifacts: null` when none, `file`/`raw` only when
 * true): serve this from a fake `POST /api/v4/jobs/request`.
 */
export function buildWireJobPayload(job: PlannedJob, context: JobPayloadContext): JobPayloadInput {
  const facts = job.pipeline;
  const pipelineId = context.pipelineId ?? facts.pipeline.id;
  const project = {
    ...facts.project,
    id: context.projectId ?? facts.project.id,
    path: context.projectPath ?? facts.project.path,
  };
  const serverUrl = (context.serverUrl ?? facts.serverUrl).replace(/\/+$/, '');
  const projectUrl = `${serverUrl}/${project.path}`;
  const timeout = job.timeout ?? context.projectTimeout ?? 3600;
  const repoUrl = context.repoUrl ?? null;
  const protectedRef = context.protectedRef ?? facts.protectedRef ?? false;

  const jobVariables: PayloadVariable[] = [
    variable('CI_JOB_ID', String(context.jobId)),
    variable('CI_JOB_NAME', job.name),
    variable('CI_JOB_NAME_SLUG', slugify(job.name)),
    variable('CI_JOB_STAGE', job.stage),
    variable('CI_JOB_URL', `${projectUrl}/-/jobs/${context.jobId}`),
    variable('CI_JOB_TOKEN', context.jobToken, { public: false, masked: true }),
    variable('CI_JOB_TIMEOUT', String(timeout)),
  ];
  if (job.when === 'manual') jobVariables.push(variable('CI_JOB_MANUAL', 'true'));
  if (job.environment)
    jobVariables.push(
      variable('CI_ENVIRONMENT_NAME', job.environment),
      variable('CI_ENVIRONMENT_SLUG', slugify(job.environment)),
    );
  jobVariables.push(
    variable('CI_REGISTRY_USER', 'gitlab-ci-token'),
    variable('CI_REGISTRY_PASSWORD', context.jobToken, { public: false, masked: true }),
  );
  if (repoUrl) jobVariables.push(variable('CI_REPOSITORY_URL', repoUrl, { public: false }));
  const pipelineVariables = pipelinePredefinedVariables({
    git: facts.git,
    project,
    pipeline: { ...facts.pipeline, id: pipelineId },
    serverUrl,
    configPath: facts.configPath,
    protectedRef,
  });
  if (facts.pipeline.name) pipelineVariables.push(variable('CI_PIPELINE_NAME', facts.pipeline.name));
  const written: PayloadVariable[] = [
    ...pipelineVariables.filter((v) => v.key === 'CI_PIPELINE_ID'),
    ...jobVariables,
    ...pipelineVariables.filter((v) => v.key !== 'CI_PIPELINE_ID'),
    ...job.variables,
    ...facts.callerVariables,
  ];
  if (!repoUrl) written.push(variable('GIT_STRATEGY', 'none'));
  // GitLab sends values with references between variables already expanded (api-spec §5.5).
  const variables = expandPayloadVariables(written);

  const byName = new Map(variables.map((v) => [v.key, v]));
  // GitLab expands image and service names on the server, against the job's variables.
  const expand = (text: string): string => expandServerValue(text, byName);
  const depthText = byName.get('GIT_DEPTH')?.value;
  const depth = depthText !== undefined && /^\d+$/.test(depthText) ? Number(depthText) : (context.gitDepth ?? 20);

  const steps: NonNullable<JobPayloadInput['steps']> = [
    { name: 'script', script: [...job.beforeScript, ...job.script], timeout, when: 'on_success', allow_failure: false },
  ];
  if (job.afterScript.length > 0) {
    steps.push({ name: 'after_script', script: job.afterScript, timeout, when: 'always', allow_failure: true });
  }
  const hooks: NonNullable<JobPayloadInput['hooks']> = [];
  if (job.hooks.preGetSourcesScript)
    hooks.push({ name: 'pre_get_sources_script', script: job.hooks.preGetSourcesScript });

  const segments = project.path.split('/');
  return {
    id: context.jobId,
    token: context.jobToken,
    allow_git_fetch: true,
    job_info: {
      id: context.jobId,
      name: job.name,
      stage: job.stage,
      pipeline_id: pipelineId,
      project_id: project.id,
      project_name: segments[segments.length - 1] ?? project.path,
      project_full_path: project.path,
      user_id: context.userId ?? 1,
      scoped_user_id: null,
      time_in_queue_seconds: 0,
      project_jobs_running_on_instance_runners_count: '+Inf',
      queue_size: 0,
      queue_depth: 0,
    },
    git_info: {
      repo_url: repoUrl ?? '',
      ref: facts.git.ref,
      sha: facts.git.sha,
      before_sha: facts.git.beforeSha,
      ref_type: facts.git.refType,
      refspecs: refspecs(pipelineId, facts.git.ref, facts.git.refType, depth),
      depth,
      repo_object_format: facts.git.objectFormat,
      protected: protectedRef,
    },
    runner_info: { timeout, runner_session_url: null, uuid: null },
    variables,
    steps,
    hooks,
    image: image(job.image, expand),
    services: job.services.map((s) => service(s, expand)),
    artifacts: artifacts(job),
    cache: job.cache.map((cache) => {
      const { key, fallback } = cacheKey(cache, context, protectedRef);
      return {
        key,
        untracked: cache.untracked,
        paths: cache.paths,
        policy: cache.policy,
        when: cache.when,
        fallback_keys: fallback,
      };
    }),
    credentials: (context.credentials ?? []).map((c) => ({
      type: c.type ?? 'registry',
      url: c.url,
      username: c.username,
      password: c.password,
    })),
    features: {
      trace_sections: true,
      failure_reasons: [...(context.failureReasons ?? GITLAB_FAILURE_REASONS)],
      token_mask_prefixes: ['glpat-', 'glcbt-'],
      tracing: null,
    },
    dependencies: (context.dependencies ?? []).map((d) => ({
      id: d.id,
      name: d.name,
      token: d.token,
      ...(d.artifactsFile
        ? { artifacts_file: { filename: d.artifactsFile.filename, size: d.artifactsFile.size } }
        : {}),
    })),
  };
}

/** The job payload as job-spec's parsed `JobPayload` (validated by its schema). */
export function buildJobPayload(job: PlannedJob, context: JobPayloadContext): JobPayload {
  const wire = buildWireJobPayload(job, context);
  const parsed = JobPayloadSchema.safeParse(wire);
  if (!parsed.success) {
    throw new PipelineError(
      'PIPELINE_PAYLOAD_INVALID',
      `payload for job "${job.name}" does not match job-spec's schema: ${parsed.error.message}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}
