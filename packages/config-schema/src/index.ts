export {
  parseConfig,
  validateConfig,
  type DisabledRunner,
  type ParsedConfig,
  type ParseOptions,
  type ValidateOptions,
  type ValidationResult,
} from './parse.js';
export { ConfigSchemaError, ConfigValidationError, ConfigWriteError, type ConfigSchemaErrorCode } from './errors.js';
export { formatPath, sortIssues, type ConfigIssue, type IssueCode, type Severity, type PathSegment } from './issues.js';
export { CONFIG_DEFAULTS } from './defaults.js';
export { effectiveConfig, effectiveRunner, type EffectiveConfig, type EffectiveRunner } from './effective.js';
export {
  FEATURE_FLAGS,
  REMOVED_FEATURE_FLAGS,
  featureFlagDefinition,
  featureFlagsOn,
  parseGoBool,
  resolveFeatureFlags,
  type FeatureFlagDefinition,
  type FeatureFlagSources,
} from './feature-flags.js';
export { configSchema, LOG_FORMATS, LOG_LEVELS, type Config, type SessionServerConfig } from './schema/global.js';
export { EXECUTORS, SHELLS, runnerSchema, type Executor, type RunnerConfig } from './schema/runners.js';
export {
  PULL_POLICIES,
  dockerSchema,
  type DockerConfig,
  type DockerServiceConfig,
  type PullPolicy,
} from './schema/docker.js';
export { sshSchema, type SshConfig } from './schema/ssh.js';
export { customSchema, type CustomConfig } from './schema/custom.js';
export {
  cacheSchema,
  type AzureCacheConfig,
  type CacheConfig,
  type GcsCacheConfig,
  type S3CacheConfig,
} from './schema/cache.js';
export { machineSchema, type MachineConfig } from './schema/machine.js';
export { autoscalerSchema, type AutoscalerConfig } from './schema/autoscaler.js';
export { kubernetesSchema, type KubernetesConfig } from './schema/kubernetes.js';
export { parallelsSchema, virtualboxSchema, type ParallelsConfig, type VirtualboxConfig } from './schema/vm.js';
export { formatGoDuration, parseGoDuration } from './values/duration.js';
export { appendRunner, stringify, stringifyRunner } from './toml/write.js';
export { MASKED, SECRET_NAME, redactSecrets, redactUrl, shortTokenForDisplay } from './secrets.js';
export { expandCredentials, expandVariables } from './expand.js';
export { CONFIG_JSON_SCHEMA_ID, createJsonSchema } from './json-schema.js';
