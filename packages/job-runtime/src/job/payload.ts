// The part of the job payload (api-spec §5) the runtime reads, declared structurally: a payload parsed by
// @runnerkit/job-spec (`JobPayload`) is assignable to it, and so is a hand-written test payload.

export interface PayloadVariable {
  key: string;
  value: string | null;
  public?: boolean | null | undefined;
  masked?: boolean | null | undefined;
  file?: boolean | null | undefined;
  raw?: boolean | null | undefined;
}

export interface PayloadStep {
  name: string;
  script?: readonly string[] | null | undefined;
  timeout?: number | null | undefined;
  when?: string | null | undefined;
  allow_failure?: boolean | null | undefined;
}

export interface PayloadHook {
  name: string;
  script?: readonly string[] | null | undefined;
}

export interface PayloadCache {
  key?: string | null | undefined;
  untracked?: boolean | null | undefined;
  policy?: string | null | undefined;
  paths?: readonly string[] | null | undefined;
  when?: string | null | undefined;
  fallback_keys?: readonly string[] | null | undefined;
}

export interface PayloadArtifact {
  name?: string | null | undefined;
  untracked?: boolean | null | undefined;
  paths?: readonly string[] | null | undefined;
  exclude?: readonly string[] | null | undefined;
  when?: string | null | undefined;
  expire_in?: string | null | undefined;
  artifact_type?: string | null | undefined;
  artifact_format?: string | null | undefined;
}

export interface PayloadDependency {
  id: number;
  name: string;
  token: string;
  artifacts_file?: { filename?: string | null | undefined; size?: number | null | undefined } | null | undefined;
}

export interface PayloadImage {
  name: string;
  [key: string]: unknown;
}

/** What the runtime reads from a job payload. */
export interface RuntimeJobPayload {
  id: number;
  token: string;
  allow_git_fetch?: boolean | null | undefined;
  job_info?:
    | {
        name?: string | null | undefined;
        stage?: string | null | undefined;
        project_id?: number | null | undefined;
        project_name?: string | null | undefined;
        [key: string]: unknown;
      }
    | null
    | undefined;
  git_info?:
    | {
        repo_url?: string | null | undefined;
        ref?: string | null | undefined;
        sha?: string | null | undefined;
        before_sha?: string | null | undefined;
        ref_type?: string | null | undefined;
        refspecs?: readonly string[] | null | undefined;
        depth?: number | null | undefined;
        repo_object_format?: string | null | undefined;
        [key: string]: unknown;
      }
    | null
    | undefined;
  runner_info?: { timeout?: number | null | undefined; [key: string]: unknown } | null | undefined;
  variables?: readonly PayloadVariable[] | null | undefined;
  steps?: readonly PayloadStep[] | null | undefined;
  hooks?: readonly PayloadHook[] | null | undefined;
  image?: PayloadImage | null | undefined;
  services?: readonly PayloadImage[] | null | undefined;
  artifacts?: readonly PayloadArtifact[] | null | undefined;
  cache?: readonly PayloadCache[] | null | undefined;
  dependencies?: readonly PayloadDependency[] | null | undefined;
  features?:
    | {
        trace_sections?: boolean | null | undefined;
        token_mask_prefixes?: readonly string[] | null | undefined;
        [key: string]: unknown;
      }
    | null
    | undefined;
  [key: string]: unknown;
}
