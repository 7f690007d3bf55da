import { z } from 'zod';
import {
  optionalBoolean,
  optionalInteger,
  optionalList,
  optionalNumber,
  optionalString,
  optionalStringList,
  whenField,
} from './common.js';

// The job payload: the body of a 201 from `POST /api/v4/jobs/request` (api-spec §5).
// Unknown keys are ignored (stripped), never rejected: GitLab adds fields over time.

/** §5.5 — one job variable. `file` and `raw` are sent only when true. */
export const JobVariableSchema = z.object({
  key: z.string(),
  value: optionalString(),
  public: optionalBoolean(),
  masked: optionalBoolean(),
  file: optionalBoolean(),
  raw: optionalBoolean(),
});
export type JobVariable = z.output<typeof JobVariableSchema>;
export type JobVariableInput = z.input<typeof JobVariableSchema>;

/** §5.2 */
export const JobInfoSchema = z.object({
  id: optionalInteger(),
  name: optionalString(),
  stage: optionalString(),
  pipeline_id: optionalInteger(),
  project_id: optionalInteger(),
  project_name: optionalString(),
  project_full_path: optionalString(),
  namespace_id: optionalInteger(),
  root_namespace_id: optionalInteger(),
  organization_id: optionalInteger(),
  instance_id: optionalString(),
  instance_uuid: optionalString(),
  user_id: optionalInteger(),
  scoped_user_id: z
    .int()
    .nullish()
    .transform((value) => value ?? null),
  time_in_queue_seconds: optionalNumber(),
  project_jobs_running_on_instance_runners_count: optionalString(),
  queue_size: optionalInteger(),
  queue_depth: optionalInteger(),
});
export type JobInfo = z.output<typeof JobInfoSchema>;

export const GIT_REF_TYPES = ['branch', 'tag'] as const;
export type GitRefType = (typeof GIT_REF_TYPES)[number];

/** §5.3 */
export const GitInfoSchema = z.object({
  repo_url: optionalString(),
  ref: optionalString(),
  sha: optionalString(),
  before_sha: optionalString(),
  ref_type: z
    .union([z.enum(GIT_REF_TYPES), z.literal('')])
    .nullish()
    .transform((value) => value ?? ''),
  refspecs: optionalStringList(),
  depth: optionalInteger(),
  repo_object_format: z
    .union([z.enum(['sha1', 'sha256']), z.literal('')])
    .nullish()
    .transform((value): 'sha1' | 'sha256' => (value ? value : 'sha1')),
  protected: z
    .boolean()
    .nullish()
    .transform((value) => value ?? null),
});
export type GitInfo = z.output<typeof GitInfoSchema>;

/** §5.4 — `timeout` is seconds; 0 means the runner default (7200 s). */
export const RunnerInfoSchema = z.object({
  timeout: optionalInteger(),
  runner_session_url: optionalString(),
  uuid: optionalString(),
});
export type JobRunnerInfo = z.output<typeof RunnerInfoSchema>;

export const DEFAULT_JOB_TIMEOUT_SECONDS = 7200;

/** §5.7 — `name` is `script`, `after_script`, `release` or another step name. */
export const StepSchema = z.object({
  name: optionalString(),
  script: optionalStringList(),
  timeout: optionalInteger(),
  when: whenField(),
  allow_failure: optionalBoolean(),
});
export type Step = z.output<typeof StepSchema>;

export const HOOK_NAMES = ['pre_get_sources_script', 'post_get_sources_script'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** §5.8 — unknown hook names are kept (and ignored by runners). */
export const HookSchema = z.object({
  name: optionalString(),
  script: optionalStringList(),
});
export type Hook = z.output<typeof HookSchema>;

/** §5.9 — `{number, protocol, name}` of an image or service port. */
export const PortSchema = z.object({
  number: optionalInteger(),
  protocol: optionalString(),
  name: optionalString(),
});
export type Port = z.output<typeof PortSchema>;

export const PULL_POLICIES = ['always', 'if-not-present', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

// `user` may be a string or an integer on the wire (as GitLab Runner accepts); integers become decimal text.
const executorUser = z
  .union([z.string(), z.int()])
  .nullish()
  .transform((value) => (value === null || value === undefined ? undefined : String(value)));

// Unknown keys are kept here on purpose: they are a job failure found by `findJobPayloadProblems`, not a
// parse error (api-spec §5.6).
export const DockerExecutorOptionsSchema = z.looseObject({
  platform: z
    .string()
    .nullish()
    .transform((value) => value ?? undefined),
  user: executorUser,
});
export const KubernetesExecutorOptionsSchema = z.looseObject({
  user: executorUser,
});
export const ExecutorOptionsSchema = z.looseObject({
  docker: DockerExecutorOptionsSchema.nullish().transform((value) => value ?? undefined),
  kubernetes: KubernetesExecutorOptionsSchema.nullish().transform((value) => value ?? undefined),
});
export type ExecutorOptions = z.output<typeof ExecutorOptionsSchema>;

/** Service-only variables: only `key` and `value` are sent. */
export const ServiceVariableSchema = z.object({
  key: z.string(),
  value: optionalString(),
});
export type ServiceVariable = z.output<typeof ServiceVariableSchema>;

/** §5.9 — used for `image` and each `services[]` entry. */
export const ImageSchema = z.object({
  name: optionalString(),
  alias: optionalString(),
  command: optionalStringList(),
  entrypoint: optionalStringList(),
  ports: optionalList(PortSchema),
  variables: optionalList(ServiceVariableSchema),
  pull_policy: optionalList(z.enum(PULL_POLICIES)),
  executor_opts: ExecutorOptionsSchema.nullish().transform(
    (value): ExecutorOptions => value ?? { docker: undefined, kubernetes: undefined },
  ),
});
export type Image = z.output<typeof ImageSchema>;
export type ImageInput = z.input<typeof ImageSchema>;

export const ARTIFACT_FORMATS = ['zip', 'gzip', 'raw', 'zipzstd', 'tarzstd'] as const;
export type ArtifactFormat = (typeof ARTIFACT_FORMATS)[number];

/** GitLab's artifact types (§8.4). The schema accepts any string, since GitLab adds report types. */
export const KNOWN_ARTIFACT_TYPES = [
  'archive',
  'metadata',
  'trace',
  'junit',
  'sast',
  'dependency_scanning',
  'container_scanning',
  'dast',
  'codequality',
  'license_scanning',
  'performance',
  'metrics',
  'metrics_referee',
  'network_referee',
  'lsif',
  'dotenv',
  'cobertura',
  'terraform',
  'accessibility',
  'cluster_applications',
  'secret_detection',
  'requirements',
  'coverage_fuzzing',
  'browser_performance',
  'load_performance',
  'api_fuzzing',
  'cluster_image_scanning',
  'cyclonedx',
  'requirements_v2',
  'annotations',
  'repository_xray',
  'jacoco',
] as const;

/** §5.10 */
export const ArtifactSchema = z.object({
  name: optionalString(),
  untracked: optionalBoolean(),
  paths: optionalStringList(),
  exclude: optionalStringList(),
  when: whenField(),
  expire_in: optionalString(),
  artifact_type: optionalString(),
  artifact_format: z
    .union([z.enum(ARTIFACT_FORMATS), z.literal('')])
    .nullish()
    .transform((value) => value ?? ''),
});
export type Artifact = z.output<typeof ArtifactSchema>;

export const CACHE_POLICIES = ['pull-push', 'pull', 'push'] as const;
export type CachePolicy = (typeof CACHE_POLICIES)[number];

/** §5.11 — an empty `policy` means `pull-push`. */
export const CacheSchema = z.object({
  key: optionalString(),
  untracked: optionalBoolean(),
  paths: optionalStringList(),
  policy: z
    .union([z.enum(CACHE_POLICIES), z.literal('')])
    .nullish()
    .transform((value): CachePolicy => (value ? value : 'pull-push')),
  when: whenField(),
  fallback_keys: optionalStringList(),
});
export type Cache = z.output<typeof CacheSchema>;

/** §5.12 — types other than `registry` (compared case-insensitively) are ignored by runners. */
export const CredentialSchema = z.object({
  type: optionalString(),
  url: optionalString(),
  username: optionalString(),
  password: optionalString(),
});
export type Credential = z.output<typeof CredentialSchema>;

/** §5.13 */
export const JobFeaturesSchema = z.object({
  trace_sections: optionalBoolean(),
  failure_reasons: optionalStringList(),
  token_mask_prefixes: optionalStringList(),
  tracing: z
    .looseObject({})
    .nullish()
    .transform((value) => value ?? null),
});
export type JobFeatures = z.output<typeof JobFeaturesSchema>;

/** §5.14 — only dependencies with a non-empty `artifacts_file.filename` have artifacts to download. */
export const DependencySchema = z.object({
  id: z.int(),
  name: optionalString(),
  token: optionalString(),
  artifacts_file: z
    .object({ filename: optionalString(), size: optionalInteger() })
    .nullish()
    .transform((value) => value ?? null),
});
export type Dependency = z.output<typeof DependencySchema>;

export const JOB_INPUT_TYPES = ['string', 'number', 'boolean', 'array', 'struct'] as const;

/** §5.15 */
export const JobInputSchema = z.object({
  key: z.string(),
  value: z.object({
    type: z.string(),
    content: z.unknown(),
    sensitive: optionalBoolean(),
  }),
});
export type JobInput = z.output<typeof JobInputSchema>;

/** §5.16 — one provider object per secret plus `file` (default true). Providers are kept as sent. */
export const SecretSchema = z.looseObject({
  file: z
    .boolean()
    .nullish()
    .transform((value) => value ?? true),
});
export type Secret = z.output<typeof SecretSchema>;

/** §5.17 */
export const PolicyOptionsSchema = z.looseObject({
  execution_policy_job: optionalBoolean(),
  policy_name: optionalString(),
  policy_variables_override_allowed: z.boolean().nullish(),
  policy_variables_override_exceptions: z.array(z.string()).nullish(),
});
export const SuspendOptionsSchema = z.looseObject({
  suspend_on_success: z.boolean().nullish(),
  suspend_on_failure: z.boolean().nullish(),
  runtime_environment_key: z.string().nullish(),
});

/** `run`: a JSON string holding an array of step definitions. */
export const RunFieldSchema = z.string().superRefine((value, context) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    context.addIssue({
      code: 'custom',
      message: `expected a JSON array of steps, got text that is not JSON (${(error as Error).message})`,
    });
    return;
  }
  if (!Array.isArray(parsed)) {
    context.addIssue({ code: 'custom', message: 'expected a JSON array of steps' });
  }
});

/** §5.1 — the job payload. */
export const JobPayloadSchema = z.object({
  id: z.int().positive(),
  token: z.string().min(1),
  allow_git_fetch: optionalBoolean(),
  job_info: JobInfoSchema.nullish().transform((value) => value ?? JobInfoSchema.parse({})),
  git_info: GitInfoSchema.nullish().transform((value) => value ?? GitInfoSchema.parse({})),
  runner_info: RunnerInfoSchema.nullish().transform((value) => value ?? RunnerInfoSchema.parse({})),
  variables: optionalList(JobVariableSchema),
  steps: optionalList(StepSchema),
  hooks: optionalList(HookSchema),
  image: ImageSchema.nullish().transform((value) => value ?? null),
  services: optionalList(ImageSchema),
  artifacts: optionalList(ArtifactSchema),
  cache: optionalList(CacheSchema),
  credentials: optionalList(CredentialSchema),
  features: JobFeaturesSchema.nullish().transform((value) => value ?? JobFeaturesSchema.parse({})),
  dependencies: optionalList(DependencySchema),
  run: RunFieldSchema.nullish().transform((value) => value ?? undefined),
  inputs: optionalList(JobInputSchema),
  secrets: z
    .record(z.string(), SecretSchema)
    .nullish()
    .transform((value) => value ?? {}),
  policy_options: PolicyOptionsSchema.nullish().transform((value) => value ?? null),
  suspend_options: SuspendOptionsSchema.nullish().transform((value) => value ?? null),
});

/** A parsed job payload: every optional field present with its empty value, `image` `null` when unset. */
export type JobPayload = z.output<typeof JobPayloadSchema>;
/** The payload as it travels on the wire (what a server emits): `null`s and omitted keys allowed. */
export type JobPayloadInput = z.input<typeof JobPayloadSchema>;
