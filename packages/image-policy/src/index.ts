export {
  type AllowedImageDecision,
  isPrivilegedImageAllowed,
  isPrivilegedServiceAllowed,
  matchesAllowList,
  type VerifyAllowedImageOptions,
  verifyAllowedImage,
} from './allowed.js';
export {
  authenticationLine,
  type ConfigFileContents,
  type CredentialHelperRunner,
  type CredentialResolution,
  type CredentialSources,
  DOCKER_AUTH_CONFIG_SOURCE,
  type DockerAuthEntry,
  type DockerConfigFile,
  describeCredentials,
  dockerAuthConfigValue,
  findCredentials,
  JOB_PAYLOAD_SOURCE,
  type JobVariableLike,
  type PayloadCredential,
  type RegistryCredentials,
  type ResolveCredentialsOptions,
  registryAuthHeader,
  registryPathOf,
  resolveImageCredentials,
  resolveRegistryCredentials,
} from './credentials.js';
export {
  CredentialsError,
  DisallowedImageError,
  type ImageFailureReason,
  ImagePolicyError,
  type ImagePolicyErrorCode,
  ImagePullError,
  InvalidReferenceError,
  type InvalidReferenceReason,
  InvalidServiceAliasError,
  PlanStateError,
  PullPolicyError,
} from './errors.js';
export { compileGlob, matchGlob } from './glob.js';
export {
  classifyPullFailure,
  type PullDriver,
  type PullOutcome,
  PullPlan,
  type PullPlanOptions,
  type PullStep,
  runPullPlan,
} from './pull-plan.js';
export {
  type EffectivePullPoliciesOptions,
  effectivePullPolicies,
  formatPolicyList,
  PULL_POLICIES,
  type PullPolicy,
} from './pull-policy.js';
export {
  canonicalReference,
  credentialLookupPath,
  DOCKER_HUB_DOMAIN,
  familiarReference,
  type ImageReference,
  isImageId,
  type PullParameters,
  parseImageReference,
  pullParameters,
  registryHost,
  tryParseImageReference,
} from './reference.js';
export { hostnameProblem, parseServiceImage, parseUserAliases, type ServiceImage, serviceAliases } from './services.js';
export { type TraceLine, traceLine } from './trace.js';
