import { PullPolicyError } from './errors.js';

export type PullPolicy = 'always' | 'if-not-present' | 'never';

export const PULL_POLICIES: readonly PullPolicy[] = ['always', 'if-not-present', 'never'];

const DEFAULT_PULL_POLICIES: readonly PullPolicy[] = ['always'];

/** Go's `%v` of a slice: `[always if-not-present]`. */
export function formatPolicyList(policies: readonly string[]): string {
  return `[${policies.join(' ')}]`;
}

function toList(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? (value === '' ? [] : [value]) : value;
}

function checkPolicies(values: readonly string[], option: string, image: string): PullPolicy[] {
  return values.map((value) => {
    if (!(PULL_POLICIES as readonly string[]).includes(value)) {
      const detail = `unsupported ${option} config: "${value}"`;
      throw new PullPolicyError(
        'IMAGE_POLICY_UNSUPPORTED_PULL_POLICY',
        `invalid pull policy for image "${image}": ${detail}`,
        detail,
      );
    }
    return value as PullPolicy;
  });
}

export interface EffectivePullPoliciesOptions {
  /** The image the policies are for (named in errors). */
  readonly image: string;
  /** The job's `image:pull_policy` / `services:pull_policy` (empty or absent: not set). */
  readonly jobPullPolicy?: string | readonly string[] | undefined;
  /** `[runners.docker] pull_policy` (string or list; empty or absent: `always`). */
  readonly configPullPolicy?: string | readonly string[] | undefined;
  /** `[runners.docker] allowed_pull_policies` (empty or absent: the config `pull_policy` list). */
  readonly allowedPullPolicies?: readonly string[] | undefined;
}

/**
 * The pull policies to try, in order: the job's list (else config's, else `[always]`) restricted to the
 * allowed list (else config's list, else `[always]`), keeping order and repeats (a repeat is a retry).
 * Throws {@link PullPolicyError} with GitLab Runner's text when nothing requested is allowed.
 */
export function effectivePullPolicies(options: EffectivePullPoliciesOptions): PullPolicy[] {
  const job = checkPolicies(toList(options.jobPullPolicy), 'pull_policy', options.image);
  const config = checkPolicies(toList(options.configPullPolicy), 'pull_policy', options.image);
  const allowedConfig = checkPolicies(toList(options.allowedPullPolicies), 'allowed_pull_policies', options.image);

  const configOrDefault = config.length > 0 ? config : DEFAULT_PULL_POLICIES;
  const requested = job.length > 0 ? job : configOrDefault;
  const allowed = allowedConfig.length > 0 ? allowedConfig : configOrDefault;

  const effective = requested.filter((policy) => allowed.includes(policy));
  if (effective.length > 0) return effective;

  const source =
    job.length > 0 ? 'GitLab pipeline config' : config.length > 0 ? 'Runner config' : 'Runner config (default)';
  const detail = `pull_policy (${formatPolicyList(requested)}) defined in ${source} is not one of the allowed_pull_policies (${formatPolicyList(allowed)})`;
  throw new PullPolicyError(
    'IMAGE_POLICY_PULL_POLICY_NOT_ALLOWED',
    `invalid pull policy for image "${options.image}": ${detail}`,
    detail,
  );
}
