/**
 * Every failure this package reports is an {@link ImagePolicyError} with a stable `code`
 * (catalogued in docs/errors.md). `isInstance` works across duplicate installs of the package.
 */

const MARKER = Symbol.for('@runnerkit/image-policy/error');

export type ImagePolicyErrorCode =
  | 'IMAGE_POLICY_INVALID_REFERENCE'
  | 'IMAGE_POLICY_DISALLOWED_IMAGE'
  | 'IMAGE_POLICY_UNSUPPORTED_PULL_POLICY'
  | 'IMAGE_POLICY_PULL_POLICY_NOT_ALLOWED'
  | 'IMAGE_POLICY_PULL_FAILED'
  | 'IMAGE_POLICY_INVALID_SERVICE_ALIAS'
  | 'IMAGE_POLICY_INVALID_DOCKER_CONFIG'
  | 'IMAGE_POLICY_CREDENTIAL_HELPER_REFUSED'
  | 'IMAGE_POLICY_CREDENTIAL_HELPER_FAILED'
  | 'IMAGE_POLICY_PLAN_STATE';

/** GitLab's `failure_reason` values an image decision can lead to. */
export type ImageFailureReason =
  | 'runner_configuration_error'
  | 'image_pull_failure'
  | 'runner_external_dependency_failure'
  | 'runner_system_failure';

export class ImagePolicyError extends Error {
  readonly code: ImagePolicyErrorCode;
  readonly [MARKER] = true;

  constructor(code: ImagePolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImagePolicyError';
    this.code = code;
  }

  static isInstance(value: unknown): value is ImagePolicyError {
    return typeof value === 'object' && value !== null && (value as { [MARKER]?: unknown })[MARKER] === true;
  }
}

/** Why a reference is invalid, in the words of Docker's reference parser. */
export type InvalidReferenceReason =
  | 'invalid reference format'
  | 'repository name must be lowercase'
  | 'repository name must have at least one component'
  | 'repository name must not be more than 255 characters'
  | 'invalid checksum digest format'
  | 'unsupported digest algorithm'
  | 'invalid checksum digest length'
  | 'cannot specify 64-byte hexadecimal strings';

export class InvalidReferenceError extends ImagePolicyError {
  readonly reference: string;
  readonly reason: InvalidReferenceReason;

  constructor(reference: string, reason: InvalidReferenceReason, options?: { cause?: unknown }) {
    super('IMAGE_POLICY_INVALID_REFERENCE', `invalid image reference "${reference}": ${reason}`, options);
    this.name = 'InvalidReferenceError';
    this.reference = reference;
    this.reason = reason;
  }
}

export class DisallowedImageError extends ImagePolicyError {
  readonly image: string;
  readonly allowed: readonly string[];
  /** GitLab fails prepare with this error; runnerkit treats it as a configuration error. */
  readonly failureReason: ImageFailureReason = 'runner_configuration_error';

  constructor(image: string, allowed: readonly string[], optionName: string) {
    // GitLab's error text is exactly "disallowed image"; the list is in the job log lines.
    super('IMAGE_POLICY_DISALLOWED_IMAGE', 'disallowed image', {
      cause: new Error(`"${image}" is not on the list of allowed ${optionName}: [${allowed.join(' ')}]`),
    });
    this.name = 'DisallowedImageError';
    this.image = image;
    this.allowed = allowed;
  }
}

export class PullPolicyError extends ImagePolicyError {
  readonly failureReason: ImageFailureReason = 'runner_configuration_error';
  /** The message without the `invalid pull policy for image "x": ` prefix, as GitLab's inner error. */
  readonly detail: string;

  constructor(
    code: 'IMAGE_POLICY_UNSUPPORTED_PULL_POLICY' | 'IMAGE_POLICY_PULL_POLICY_NOT_ALLOWED',
    message: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'PullPolicyError';
    this.detail = detail;
  }
}

export class ImagePullError extends ImagePolicyError {
  readonly image: string;
  readonly failureReason: ImageFailureReason;

  constructor(image: string, message: string, failureReason: ImageFailureReason, options?: { cause?: unknown }) {
    super('IMAGE_POLICY_PULL_FAILED', message, options);
    this.name = 'ImagePullError';
    this.image = image;
    this.failureReason = failureReason;
  }
}

export class InvalidServiceAliasError extends ImagePolicyError {
  readonly alias: string;
  readonly failureReason: ImageFailureReason = 'runner_configuration_error';

  constructor(alias: string, why: string) {
    super('IMAGE_POLICY_INVALID_SERVICE_ALIAS', `invalid service alias "${alias}": ${why}`);
    this.name = 'InvalidServiceAliasError';
    this.alias = alias;
  }
}

export class CredentialsError extends ImagePolicyError {
  /** The credential source: `$DOCKER_AUTH_CONFIG`, a file path, … */
  readonly source: string;

  constructor(
    code:
      | 'IMAGE_POLICY_INVALID_DOCKER_CONFIG'
      | 'IMAGE_POLICY_CREDENTIAL_HELPER_REFUSED'
      | 'IMAGE_POLICY_CREDENTIAL_HELPER_FAILED',
    source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'CredentialsError';
    this.source = source;
  }
}

export class PlanStateError extends ImagePolicyError {
  constructor(message: string) {
    super('IMAGE_POLICY_PLAN_STATE', message);
    this.name = 'PlanStateError';
  }
}
