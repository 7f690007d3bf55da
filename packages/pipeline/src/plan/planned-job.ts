import type { GitFacts } from '../git/read-git-facts.js';
import type {
  ArtifactsConfig,
  CacheConfig,
  ImageConfig,
  RetryConfig,
  ServiceConfig,
  SourcePosition,
} from '../types.js';
import type { PayloadVariable, PipelineInfo, ProjectInfo } from '../variables/predefined.js';

/** `when` of a job that is in the pipeline (`never` has already removed the job). */
export type PlannedWhen = 'on_success' | 'on_failure' | 'always' | 'manual' | 'delayed';

export interface PlannedNeed {
  /** Full job name (a parallel instance name when the needed job is parallel). */
  name: string;
  artifacts: boolean;
  optional: boolean;
}

/** Facts shared by every job of one compiled pipeline. */
export interface PipelineFacts {
  git: GitFacts;
  project: ProjectInfo;
  pipeline: PipelineInfo;
  serverUrl: string;
  configPath: string;
  /** Caller variables (pipeline/project variables): they win over every YAML variable. */
  callerVariables: PayloadVariable[];
  /** Whether the pipeline's ref is protected (`CI_COMMIT_REF_PROTECTED`); payloads may override it. */
  protectedRef?: boolean;
}

/** One job of the compiled pipeline, ready to be scheduled and turned into a payload. */
export interface PlannedJob {
  /** Unique job name (`test 1/3`, `deploy: [aws, app1]` for parallel instances). */
  name: string;
  /** The key in the YAML the job came from. */
  baseName: string;
  stage: string;
  /** Index into `CompiledPipeline.stages`. */
  stageIndex: number;
  when: PlannedWhen;
  /** Seconds to wait for `when: delayed`. */
  startIn?: number;
  allowFailure: boolean;
  /** With `allow_failure: {exit_codes}`: only these exit codes are allowed to fail. */
  allowFailureExitCodes: number[];
  /** `null`: the job follows stage order; an array (possibly empty): the job follows only these needs. */
  needs: PlannedNeed[] | null;
  /** Jobs whose artifacts are downloaded (names), in GitLab's order. */
  dependencies: string[];
  image: ImageConfig | null;
  services: ServiceConfig[];
  beforeScript: string[];
  script: string[];
  afterScript: string[];
  /** YAML variables in precedence order (global, workflow, job, matrix, rules); later entries win. */
  variables: PayloadVariable[];
  artifacts: ArtifactsConfig | null;
  cache: CacheConfig[];
  /** Seconds; undefined means the project's timeout. */
  timeout?: number;
  retry: RetryConfig;
  tags: string[];
  interruptible: boolean;
  hooks: { preGetSourcesScript?: string[] };
  environment?: string;
  coverage?: string;
  resourceGroup?: string;
  release?: Record<string, unknown>;
  parallel?: { index: number; total: number; matrix?: Record<string, string> };
  position: SourcePosition;
  /** Pipeline-wide facts (shared object). */
  pipeline: PipelineFacts;
}

export interface CompiledPipeline {
  /** Declared stages, with `.pre` first and `.post` last. */
  stages: string[];
  /** Jobs in the pipeline (rules applied), in stage order then file order. */
  jobs: PlannedJob[];
  /** `workflow:name` after expansion, when set. */
  name?: string;
  facts: PipelineFacts;
  /** Pipeline-level predefined variables (commit, project, pipeline, server). */
  predefinedVariables: PayloadVariable[];
}
