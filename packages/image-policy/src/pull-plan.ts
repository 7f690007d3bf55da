import { type RegistryCredentials, authenticationLine, registryAuthHeader } from './credentials.js';
import { type ImageFailureReason, ImagePolicyError, ImagePullError, PlanStateError } from './errors.js';
import { type PullPolicy, formatPolicyList } from './pull-policy.js';
import { type ImageReference, parseImageReference, pullParameters } from './reference.js';
import { type TraceLine, traceLine } from './trace.js';

/**
 * GitLab Runner's failure reason for an image pull error message: network trouble is an external
 * dependency failure, a missing image or refused credentials a configuration error, anything else an
 * image pull failure.
 */
export function classifyPullFailure(message: string): ImageFailureReason {
  const lower = message.toLowerCase();
  const has = (...needles: string[]): boolean => needles.some((needle) => lower.includes(needle));
  if (has('dial tcp', 'connection refused', 'no such host', 'i/o timeout', 'tls handshake', 'connection reset')) {
    return 'runner_external_dependency_failure';
  }
  if (
    has(
      'not found',
      'manifest unknown',
      'pull access denied',
      'access to the resource is denied',
      'no basic auth credentials',
      'repository does not exist or may require',
      'unauthorized',
      'authentication required',
    )
  ) {
    return 'runner_configuration_error';
  }
  return 'image_pull_failure';
}

export interface PullPlanOptions {
  /** The image as the job names it (after expansion). */
  readonly image: string;
  /** The effective policies, from {@link effectivePullPolicies}. */
  readonly policies: readonly PullPolicy[];
  /** `image:docker:platform`, e.g. `linux/arm64`. */
  readonly platform?: string | undefined;
  /** The image ID this job already used under this name (GitLab then skips the pull). */
  readonly usedImageId?: string | undefined;
  /** Pull tries per policy for transient (network) failures; GitLab uses 3. */
  readonly maxPullAttempts?: number | undefined;
  /** Back-off bounds between transient retries (GitLab: 2 s and 10 s, jittered). */
  readonly minBackoffMilliseconds?: number | undefined;
  readonly maxBackoffMilliseconds?: number | undefined;
  /** Source of jitter in [0, 1); defaults to Math.random. */
  readonly random?: (() => number) | undefined;
}

interface StepBase {
  /** Job-log lines to print before acting on the step. */
  readonly lines: readonly TraceLine[];
}

/** What the executor must do next. */
export type PullStep =
  | (StepBase & {
      readonly kind: 'inspect';
      readonly image: string;
      readonly policy: PullPolicy;
      /** True for the inspect that follows a successful pull. */
      readonly afterPull: boolean;
    })
  | (StepBase & { readonly kind: 'resolve-credentials'; readonly image: string; readonly reference: ImageReference })
  | (StepBase & {
      readonly kind: 'pull';
      readonly image: string;
      readonly fromImage: string;
      readonly tag: string;
      readonly platform: string | undefined;
      /** The `X-Registry-Auth` header value, when credentials were found. */
      readonly registryAuth: string | undefined;
      readonly credentials: RegistryCredentials | undefined;
      /** 1 for the first try under this policy, 2… for transient-failure retries. */
      readonly pullAttempt: number;
    })
  | (StepBase & { readonly kind: 'wait'; readonly milliseconds: number })
  | (StepBase & { readonly kind: 'done'; readonly imageId: string; readonly repoDigest: string | undefined })
  | (StepBase & { readonly kind: 'failed'; readonly error: ImagePullError });

/** What happened when the executor acted on a step. */
export type PullOutcome =
  | { readonly kind: 'inspect'; readonly found: true; readonly id: string; readonly repoDigests?: readonly string[] }
  | { readonly kind: 'inspect'; readonly found: false; readonly error: string }
  | {
      readonly kind: 'resolve-credentials';
      readonly credentials: RegistryCredentials | undefined;
      readonly lines?: readonly TraceLine[];
    }
  | { readonly kind: 'resolve-credentials'; readonly error: string }
  | { readonly kind: 'pull'; readonly ok: true }
  | { readonly kind: 'pull'; readonly ok: false; readonly error: string }
  | { readonly kind: 'wait' };

interface PolicyError {
  readonly message: string;
  readonly failureReason: ImageFailureReason;
}

/**
 * GitLab Runner's image pull procedure as a pure state machine: `start()` gives the first step, and each
 * `next(outcome)` takes what happened and gives the next step, with the job-log lines to print, until a
 * `done` or `failed` step. The executor does the inspecting, pulling and waiting.
 */
export class PullPlan {
  readonly image: string;
  readonly reference: ImageReference;
  readonly policies: readonly PullPolicy[];
  private readonly options: PullPlanOptions;
  private readonly maxPullAttempts: number;
  private policyIndex = 0;
  private pullAttempt = 0;
  private credentials: RegistryCredentials | undefined;
  private pending: PullStep | undefined;
  private lastError: PolicyError | undefined;

  constructor(options: PullPlanOptions) {
    if (options.policies.length === 0) throw new PlanStateError('a pull plan needs at least one pull policy');
    this.options = options;
    this.image = options.image;
    this.reference = parseImageReference(options.image);
    this.policies = options.policies;
    this.maxPullAttempts = options.maxPullAttempts ?? 3;
  }

  start(): PullStep {
    if (this.pending !== undefined) throw new PlanStateError('the pull plan has already started');
    const line = traceLine(
      'plain',
      `Using effective pull policy of ${formatPolicyList(this.policies)} for container ${this.image}`,
    );
    return this.emit(this.inspect([line], false));
  }

  next(outcome: PullOutcome): PullStep {
    const step = this.pending;
    if (step === undefined) throw new PlanStateError('call start() before next()');
    if (step.kind === 'done' || step.kind === 'failed') throw new PlanStateError('the pull plan has finished');
    if (outcome.kind !== step.kind) {
      throw new PlanStateError(`expected the outcome of a "${step.kind}" step, got "${outcome.kind}"`);
    }
    switch (outcome.kind) {
      case 'inspect':
        return this.emit(
          step.kind === 'inspect' && step.afterPull ? this.afterPullInspect(outcome) : this.firstInspect(outcome),
        );
      case 'resolve-credentials':
        return this.emit(this.afterCredentials(outcome));
      case 'pull':
        return this.emit(this.afterPull(outcome));
      case 'wait':
        return this.emit(this.pullStep([]));
    }
  }

  private get policy(): PullPolicy {
    return this.policies[this.policyIndex]!;
  }

  private emit(step: PullStep): PullStep {
    this.pending = step;
    return step;
  }

  private inspect(lines: readonly TraceLine[], afterPull: boolean): PullStep {
    return { kind: 'inspect', image: this.image, policy: this.policy, afterPull, lines };
  }

  private done(id: string, repoDigests: readonly string[] | undefined, lines: TraceLine[]): PullStep {
    // One image ID can carry digests from several registries (the same layers pushed to each): name the one of
    // the repository this job asked for, so the log line matches the image the user wrote.
    const repository = repositoryOf(this.image);
    const repoDigest = repoDigests?.find((entry) => entry.startsWith(`${repository}@`)) ?? repoDigests?.[0];
    if (id !== this.image) {
      const digest = repoDigest === undefined ? '' : ` with digest ${repoDigest}`;
      lines.push(traceLine('plain', `Using docker image ${id} for ${this.image}${digest} ...`));
    }
    return { kind: 'done', imageId: id, repoDigest, lines };
  }

  private firstInspect(outcome: Extract<PullOutcome, { kind: 'inspect' }>): PullStep {
    if (outcome.found && this.options.usedImageId === outcome.id) return this.done(outcome.id, outcome.repoDigests, []);
    if (this.policy === 'never') {
      if (outcome.found) return this.done(outcome.id, outcome.repoDigests, []);
      return this.policyFailed({ message: outcome.error, failureReason: 'runner_system_failure' });
    }
    if (outcome.found) {
      if (outcome.id === this.image) return this.done(outcome.id, outcome.repoDigests, []);
      if (this.policy === 'if-not-present') {
        const line = traceLine('plain', `Using locally found image version due to "if-not-present" pull policy`);
        return this.done(outcome.id, outcome.repoDigests, [line]);
      }
    }
    return { kind: 'resolve-credentials', image: this.image, reference: this.reference, lines: [] };
  }

  private afterCredentials(outcome: Extract<PullOutcome, { kind: 'resolve-credentials' }>): PullStep {
    if ('error' in outcome)
      return this.policyFailed({ message: outcome.error, failureReason: 'runner_system_failure' });
    this.credentials = outcome.credentials;
    this.pullAttempt = 0;
    const lines: TraceLine[] = [...(outcome.lines ?? [])];
    if (this.credentials !== undefined) lines.push(authenticationLine(this.credentials));
    const platform = this.options.platform;
    const what = platform === undefined || platform === '' ? this.image : `${this.image} for platform ${platform}`;
    lines.push(traceLine('plain', `Pulling docker image ${what} ...`));
    return this.pullStep(lines);
  }

  private pullStep(lines: readonly TraceLine[]): PullStep {
    this.pullAttempt++;
    const { fromImage, tag } = pullParameters(this.reference);
    const platform = this.options.platform === '' ? undefined : this.options.platform;
    return {
      kind: 'pull',
      image: this.image,
      fromImage,
      tag,
      platform,
      registryAuth: this.credentials === undefined ? undefined : registryAuthHeader(this.credentials),
      credentials: this.credentials,
      pullAttempt: this.pullAttempt,
      lines,
    };
  }

  private afterPull(outcome: Extract<PullOutcome, { kind: 'pull' }>): PullStep {
    if (outcome.ok) return this.inspect([], true);
    const failureReason = classifyPullFailure(outcome.error);
    if (failureReason === 'runner_external_dependency_failure' && this.pullAttempt < this.maxPullAttempts) {
      const line = traceLine(
        'warning',
        `Failed to pull image "${this.image}" (attempt #${this.pullAttempt}), retrying: ${outcome.error}`,
      );
      return { kind: 'wait', milliseconds: this.backoff(this.pullAttempt), lines: [line] };
    }
    return this.policyFailed({ message: outcome.error, failureReason });
  }

  private afterPullInspect(outcome: Extract<PullOutcome, { kind: 'inspect' }>): PullStep {
    if (outcome.found) return this.done(outcome.id, outcome.repoDigests, []);
    return this.policyFailed({
      message: `inspecting image "${this.image}" after pull: ${outcome.error}`,
      failureReason: classifyPullFailure(outcome.error),
    });
  }

  private backoff(failures: number): number {
    const min = this.options.minBackoffMilliseconds ?? 2_000;
    const max = this.options.maxBackoffMilliseconds ?? 10_000;
    const ceiling = Math.min(min * 2 ** (failures - 1), max);
    const random = this.options.random ?? Math.random;
    return Math.round(min + random() * (ceiling - min));
  }

  private policyFailed(error: PolicyError): PullStep {
    this.lastError = error;
    const lines: TraceLine[] = [
      traceLine('warning', `Failed to pull image with policy "${this.policy}": ${error.message}`),
    ];
    if (this.policyIndex + 1 < this.policies.length) {
      this.policyIndex++;
      this.credentials = undefined;
      lines.push(traceLine('info', `Attempt #${this.policyIndex + 1}: Trying "${this.policy}" pull policy`));
      return this.inspect(lines, false);
    }
    const message = `failed to pull image "${this.image}" with specified policies ${formatPolicyList(this.policies)}: ${this.lastError.message}`;
    const cause = new Error(this.lastError.message);
    return {
      kind: 'failed',
      error: new ImagePullError(this.image, message, this.lastError.failureReason, { cause }),
      lines,
    };
  }
}

/** Where the executor's side of a pull happens; {@link runPullPlan} calls these in GitLab Runner's order. */
export interface PullDriver {
  /** Inspect the image locally by the name as written. */
  inspect(
    image: string,
  ): Promise<{ found: true; id: string; repoDigests?: readonly string[] } | { found: false; error: string }>;
  /** Find credentials for the image (e.g. with {@link resolveImageCredentials}); undefined when there are none. */
  resolveCredentials(
    reference: ImageReference,
  ): Promise<
    RegistryCredentials | undefined | { credentials: RegistryCredentials | undefined; lines: readonly TraceLine[] }
  >;
  /** Pull; reject with an Error whose message is the daemon's error. */
  pull(step: Extract<PullStep, { kind: 'pull' }>): Promise<void>;
  /** Wait between transient retries (defaults to a timer). */
  wait?(milliseconds: number): Promise<void>;
  /** Receives every job-log line, in order. */
  line?(line: TraceLine): void;
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Drives a {@link PullPlan} to its end with the given driver. Resolves with the image to use; rejects with
 * {@link ImagePullError} when every policy failed.
 */
export async function runPullPlan(
  options: PullPlanOptions,
  driver: PullDriver,
): Promise<{ imageId: string; repoDigest: string | undefined }> {
  const plan = new PullPlan(options);
  let step = plan.start();
  for (;;) {
    for (const line of step.lines) driver.line?.(line);
    switch (step.kind) {
      case 'done':
        return { imageId: step.imageId, repoDigest: step.repoDigest };
      case 'failed':
        throw step.error;
      case 'inspect':
        step = plan.next({ kind: 'inspect', ...(await driver.inspect(step.image)) });
        break;
      case 'resolve-credentials': {
        let outcome: PullOutcome;
        try {
          const found = await driver.resolveCredentials(step.reference);
          outcome =
            found !== undefined && 'lines' in found
              ? { kind: 'resolve-credentials', credentials: found.credentials, lines: found.lines }
              : { kind: 'resolve-credentials', credentials: found };
        } catch (error) {
          outcome = { kind: 'resolve-credentials', error: errorMessage(error) };
        }
        step = plan.next(outcome);
        break;
      }
      case 'pull': {
        let outcome: PullOutcome;
        try {
          await driver.pull(step);
          outcome = { kind: 'pull', ok: true };
        } catch (error) {
          if (ImagePolicyError.isInstance(error) && error.code === 'IMAGE_POLICY_PLAN_STATE') throw error;
          outcome = { kind: 'pull', ok: false, error: errorMessage(error) };
        }
        step = plan.next(outcome);
        break;
      }
      case 'wait': {
        const milliseconds = step.milliseconds;
        await (driver.wait?.(milliseconds) ?? new Promise<void>((resolve) => setTimeout(resolve, milliseconds)));
        step = plan.next({ kind: 'wait' });
        break;
      }
    }
  }
}

/** The image name without its tag or digest (`host:5000/group/app:1.0@sha256:…` → `host:5000/group/app`). */
function repositoryOf(image: string): string {
  const withoutDigest = image.split('@', 1)[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}
