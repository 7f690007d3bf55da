/** `when` as written in a job or a rule; `never` only appears in rules. */
export type JobWhen = 'on_success' | 'on_failure' | 'always' | 'manual' | 'delayed' | 'never';
/** `when` of artifacts, caches and steps. */
export type ResultWhen = 'on_success' | 'on_failure' | 'always';

export interface SourcePosition {
  file: string;
  line?: number;
}

/** A `variables:` entry from the YAML (global, job, rules or matrix). */
export interface YamlVariable {
  key: string;
  value: string;
  /** `expand: false` becomes `raw: true` in the payload. */
  expand: boolean;
  description?: string;
}

export interface ImagePort {
  number: number;
  protocol: 'http' | 'https';
  name: string | null;
}

export interface ImageConfig {
  name: string;
  entrypoint: string[] | null;
  ports: ImagePort[];
  pullPolicy: string[] | null;
  executorOpts: Record<string, Record<string, string>>;
}

export interface ServiceConfig extends ImageConfig {
  alias: string | null;
  command: string[] | null;
  variables: { key: string; value: string }[];
}

export interface ArtifactsConfig {
  name?: string;
  paths: string[];
  exclude: string[];
  untracked: boolean;
  when: ResultWhen;
  expireIn: string | null;
  /** `reports:` by type, each a list of paths (coverage_report is kept as its `path`). */
  reports: Record<string, string[]>;
}

export interface CacheConfig {
  /**
   * A literal key, or `key: {files | files_commits, prefix}` computed from the repository: `digest` is GitLab's
   * SHA-1 over the files' blob ids (`files`) or their last commits (`filesCommits`), or `default` when none is
   * found; absent when the pipeline was compiled without a git checkout.
   */
  key: string | { files: string[]; filesCommits?: string[]; prefix?: string; digest?: string };
  paths: string[];
  untracked: boolean;
  policy: 'pull-push' | 'pull' | 'push';
  when: ResultWhen;
  fallbackKeys: string[];
  unprotect: boolean;
}

export interface RetryConfig {
  max: number;
  when: string[];
  exitCodes: number[];
}

export interface NeedConfig {
  job: string;
  artifacts: boolean;
  optional: boolean;
  /** `needs:parallel:matrix` — only the matrix instances with these values. */
  matrix?: Record<string, string[]>[];
}

export type AllowFailure = boolean | { exitCodes: number[] };

export interface RuleConfig {
  if?: string;
  changes?: { paths: string[]; compareTo?: string };
  exists?: string[];
  when?: JobWhen;
  startIn?: string;
  allowFailure?: AllowFailure;
  variables?: YamlVariable[];
  needs?: NeedConfig[];
  interruptible?: boolean;
}

export interface OnlyExceptConfig {
  refs: string[];
  variables: string[];
  changes: string[];
}

export type ParallelConfig = { count: number } | { matrix: Record<string, string[]>[] };

/** A job after include, extends, !reference, default: and inherit: have been applied. */
export interface JobConfig {
  name: string;
  position: SourcePosition;
  stage: string;
  image: ImageConfig | null;
  services: ServiceConfig[];
  beforeScript: string[];
  script: string[];
  afterScript: string[];
  /** Job-level variables (global ones are kept on the pipeline, filtered by `inherit:variables`). */
  variables: YamlVariable[];
  inheritVariables: boolean | string[];
  rules?: RuleConfig[];
  only?: OnlyExceptConfig;
  except?: OnlyExceptConfig;
  when: JobWhen;
  startIn?: string;
  /** `undefined`: GitLab's default (true for manual jobs outside rules, else false). */
  allowFailure?: AllowFailure;
  needs?: NeedConfig[];
  dependencies?: string[];
  artifacts: ArtifactsConfig | null;
  cache: CacheConfig[];
  /** Seconds. */
  timeout?: number;
  retry: RetryConfig;
  parallel?: ParallelConfig;
  tags: string[];
  interruptible: boolean;
  hooks: { preGetSourcesScript?: string[] };
  environment?: string;
  coverage?: string;
  resourceGroup?: string;
  release?: Record<string, unknown>;
}

export interface WorkflowConfig {
  name?: string;
  rules?: RuleConfig[];
}

/** The whole configuration after normalisation, before rules pick jobs. */
export interface NormalizedConfig {
  stages: string[];
  variables: YamlVariable[];
  workflow: WorkflowConfig;
  jobs: JobConfig[];
}
