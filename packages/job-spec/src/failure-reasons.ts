import { z } from 'zod';

/** GitLab's failure reasons (`features.failure_reasons`, accepted by `PUT /api/v4/jobs/:id`). */
export const GITLAB_FAILURE_REASONS = [
  'unknown_failure',
  'script_failure',
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'missing_dependency_failure',
  'runner_unsupported',
  'stale_schedule',
  'job_execution_timeout',
  'archived_failure',
  'unmet_prerequisites',
  'scheduler_failure',
  'data_integrity_failure',
  'forward_deployment_failure',
  'user_blocked',
  'project_deleted',
  'ci_quota_exceeded',
  'pipeline_loop_detected',
  'no_matching_runner',
  'trace_size_exceeded',
  'builds_disabled',
  'environment_creation_failure',
  'deployment_rejected',
  'failed_outdated_deployment_job',
  'job_execution_server_timeout',
  'stuck_pending_with_matching_runners',
  'stuck_pending_no_matching_runners',
  'no_updates_running',
  'no_updates_canceling',
  'server_timeout_running',
  'server_timeout_canceling',
  'runner_configuration_error',
  'runner_external_dependency_failure',
  'runner_interrupted',
  'protected_environment_failure',
  'insufficient_bridge_permissions',
  'downstream_bridge_project_not_found',
  'invalid_bridge_trigger',
  'upstream_bridge_project_not_found',
  'insufficient_upstream_permissions',
  'bridge_pipeline_is_child_pipeline',
  'downstream_pipeline_creation_failed',
  'secrets_provider_not_found',
  'reached_max_descendant_pipelines_depth',
  'ip_restriction_failure',
  'reached_max_pipeline_hierarchy_size',
  'reached_downstream_pipeline_trigger_rate_limit',
  'duo_workflow_not_allowed',
  'job_router_failure',
  'job_token_expired',
  'id_token_burned_project_path',
  'downstream_project_trigger_resolved_to_empty',
] as const;
export const GitLabFailureReasonSchema = z.enum(GITLAB_FAILURE_REASONS);
export type GitLabFailureReason = z.infer<typeof GitLabFailureReasonSchema>;

/** Reasons a runner itself produces (`job_canceled` and `image_pull_failure` are runner-side only). */
export const RUNNER_FAILURE_REASONS = [
  'script_failure',
  'runner_system_failure',
  'job_execution_timeout',
  'image_pull_failure',
  'unknown_failure',
  'runner_configuration_error',
  'runner_external_dependency_failure',
  'runner_interrupted',
  'job_canceled',
] as const;
export const RunnerFailureReasonSchema = z.enum(RUNNER_FAILURE_REASONS);
export type RunnerFailureReason = z.infer<typeof RunnerFailureReasonSchema>;

/** Every failure reason either side knows. */
export const FAILURE_REASONS = [
  ...GITLAB_FAILURE_REASONS,
  'image_pull_failure',
  'job_canceled',
] as const satisfies readonly (GitLabFailureReason | RunnerFailureReason)[];
export const FailureReasonSchema = z.enum(FAILURE_REASONS);
export type FailureReason = z.infer<typeof FailureReasonSchema>;

/** Reasons a runner may send even when the server's list omits them. */
export const ALWAYS_SUPPORTED_FAILURE_REASONS: readonly FailureReason[] = [
  'script_failure',
  'runner_system_failure',
  'job_execution_timeout',
];

/** Fallbacks for runner reasons the server does not list (followed repeatedly). */
export const FAILURE_REASON_COMPATIBILITY: Readonly<Partial<Record<FailureReason, FailureReason>>> = {
  image_pull_failure: 'runner_system_failure',
  runner_configuration_error: 'script_failure',
  runner_external_dependency_failure: 'runner_system_failure',
};

/**
 * The reason to send in the final update, given the runner's reason and the server's
 * `features.failure_reasons`: empty → `script_failure`; supported → itself; else the compatibility map
 * (at most 10 hops); else `unknown_failure`.
 */
export function mapFailureReason(
  reason: FailureReason | '' | undefined,
  supported: readonly string[] | undefined,
): FailureReason {
  if (!reason) return 'script_failure';
  const accepted = new Set<string>([...(supported ?? []), ...ALWAYS_SUPPORTED_FAILURE_REASONS]);
  let current: FailureReason | undefined = reason;
  for (let depth = 0; current !== undefined && depth <= 10; depth++) {
    if (accepted.has(current)) return current;
    current = FAILURE_REASON_COMPATIBILITY[current];
  }
  return 'unknown_failure';
}

export function isGitLabFailureReason(value: string): value is GitLabFailureReason {
  return (GITLAB_FAILURE_REASONS as readonly string[]).includes(value);
}
