// Kept local until @runnerkit/job-spec exports its mapping (same rules: api-spec §6.6).
const ALWAYS_SUPPORTED = ['script_failure', 'runner_system_failure', 'job_execution_timeout'];
const COMPATIBILITY: Record<string, string> = {
  image_pull_failure: 'runner_system_failure',
  runner_configuration_error: 'script_failure',
  runner_external_dependency_failure: 'runner_system_failure',
};

/** Spec §6.6: empty → script_failure; supported → itself; compatibility map (≤ 10 hops); else unknown_failure. */
export function mapFailureReason(reason: string | undefined, supported: readonly string[] | undefined): string {
  if (!reason) return 'script_failure';
  const accepted = new Set([...(supported ?? []), ...ALWAYS_SUPPORTED]);
  let current: string | undefined = reason;
  for (let depth = 0; current !== undefined && depth <= 10; depth++) {
    if (accepted.has(current)) return current;
    current = COMPATIBILITY[current];
  }
  return 'unknown_failure';
}
