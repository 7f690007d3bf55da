/** GitLab Runner's feature flags at 19.4 (config-toml.md §9) and how a runner resolves them. */

export interface FeatureFlagDefinition {
  name: string;
  defaultValue: boolean;
  deprecated: boolean;
}

const ON = [
  'FF_ENABLE_JOB_INPUTS_INTERPOLATION',
  'FF_MASK_ALL_DEFAULT_TOKENS',
  'FF_SECRET_RESOLVING_FAILS_IF_MISSING',
  'FF_TIMESTAMPS',
  'FF_USE_ADAPTIVE_REQUEST_CONCURRENCY',
  'FF_USE_DIRECT_DOWNLOAD',
  'FF_USE_DOCKER_AUTOSCALER_DIAL_STDIO',
  'FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY',
  'FF_USE_FASTZIP',
  'FF_USE_GITALY_CORRELATION_ID',
  'FF_USE_GIT_BUNDLE_URIS',
  'FF_USE_POD_ACTIVE_DEADLINE_SECONDS',
];
const OFF = [
  'FF_NETWORK_PER_BUILD',
  'FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY',
  'FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR',
  'FF_ENABLE_BASH_EXIT_CODE_CHECK',
  'FF_USE_WINDOWS_LEGACY_PROCESS_STRATEGY',
  'FF_USE_LEGACY_BASH_EVAL',
  'FF_USE_POWERSHELL_PATH_RESOLVER',
  'FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL',
  'FF_SCRIPT_SECTIONS',
  'FF_ENABLE_JOB_CLEANUP',
  'FF_KUBERNETES_HONOR_ENTRYPOINT',
  'FF_POSIXLY_CORRECT_ESCAPES',
  'FF_RESOLVE_FULL_TLS_CHAIN',
  'FF_DISABLE_POWERSHELL_STDIN',
  'FF_USE_ADVANCED_POD_SPEC_CONFIGURATION',
  'FF_PRINT_POD_EVENTS',
  'FF_USE_GIT_NATIVE_CLONE',
  'FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR',
  'FF_USE_INIT_WITH_DOCKER_EXECUTOR',
  'FF_LOG_IMAGES_CONFIGURED_FOR_JOB',
  'FF_CLEAN_UP_FAILED_CACHE_EXTRACT',
  'FF_USE_WINDOWS_JOB_OBJECT',
  'FF_DISABLE_AUTOMATIC_TOKEN_ROTATION',
  'FF_USE_LEGACY_GCS_CACHE_ADAPTER',
  'FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR',
  'FF_USE_LEGACY_S3_CACHE_ADAPTER',
  'FF_GIT_URLS_WITHOUT_TOKENS',
  'FF_WAIT_FOR_POD_TO_BE_REACHABLE',
  'FF_EXPORT_HIGH_CARDINALITY_METRICS',
  'FF_USE_FLEETING_ACQUIRE_HEARTBEATS',
  'FF_USE_GIT_PROACTIVE_AUTH',
  'FF_HASH_CACHE_KEYS',
  'FF_USE_JOB_ROUTER',
  'FF_SCRIPT_TO_STEP_MIGRATION',
  'FF_USE_PARALLEL_CACHE_TRANSFER',
  'FF_USE_PARALLEL_ARTIFACT_TRANSFER',
  'FF_CONCRETE',
  'FF_SUSPENDABLE_ENVIRONMENTS',
  'FF_USE_NATIVE_CONTAINER_STOP',
  'FF_TEST_FEATURE',
];
const DEPRECATED = new Set(['FF_USE_FASTZIP', 'FF_TEST_FEATURE']);

/** Every known flag with its built-in default, sorted by name. */
export const FEATURE_FLAGS: readonly FeatureFlagDefinition[] = [...ON, ...OFF]
  .sort()
  .map((name) => ({ name, defaultValue: ON.includes(name), deprecated: DEPRECATED.has(name) }));

const BY_NAME = new Map(FEATURE_FLAGS.map((flag) => [flag.name, flag]));

/** Flags that existed in earlier GitLab Runner versions and are gone (unknown today). */
export const REMOVED_FEATURE_FLAGS: readonly string[] = [
  'FF_CMD_DISABLE_DELAYED_ERROR_LEVEL_EXPANSION',
  'FF_DOCKER_HELPER_IMAGE_V2',
  'FF_GITLAB_REGISTRY_HELPER_IMAGE',
  'FF_K8S_USE_ENTRYPOINT_OVER_COMMAND',
  'FF_RESET_HELPER_IMAGE_ENTRYPOINT',
  'FF_RETRIEVE_POD_WARNING_EVENTS',
  'FF_SET_PERMISSIONS_BEFORE_CLEANUP',
  'FF_SHELL_EXECUTOR_USE_LEGACY_PROCESS_KILL',
  'FF_SKIP_DOCKER_MACHINE_PROVISION_ON_CREATION_FAILURE',
  'FF_SKIP_NOOP_BUILD_STAGES',
  'FF_USE_GO_CLOUD_WITH_CACHE_ARCHIVER',
  'FF_USE_IMPROVED_URL_MASKING',
  'FF_USE_INFORMERS',
  'FF_USE_LEGACY_BUILDS_DIR_FOR_DOCKER',
  'FF_USE_LEGACY_GIT_CLEAN_STRATEGY',
  'FF_USE_LEGACY_VOLUMES_MOUNTING_ORDER',
  'FF_USE_NATIVE_STEPS',
  'FF_USE_NEW_BASH_EVAL_STRATEGY',
  'FF_USE_NEW_EVAL_STRATEGY',
  'FF_USE_NEW_SHELL_ESCAPE',
];

export function featureFlagDefinition(name: string): FeatureFlagDefinition | undefined {
  return BY_NAME.get(name);
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

export interface FeatureFlagSources {
  /** `[runners.feature_flags]` of the runner. */
  featureFlags?: Readonly<Record<string, boolean>>;
  /** `environment` entries of the runner (`KEY=VALUE`). */
  environment?: readonly string[];
  /** Job variables, in definition order (a later definition of the same key wins). */
  variables?: ReadonlyArray<{ key: string; value: string }>;
}

/**
 * The value of every feature flag for one runner (and, when given, one job), the way GitLab Runner resolves it:
 * a name set in `[runners.feature_flags]` wins and cannot be overridden; otherwise the last definition among the
 * runner's `environment` entries and then the job's variables decides (Go `ParseBool`; a value that does not parse
 * counts as off, as GitLab logs an error and treats it as false); otherwise the built-in default.
 * Unknown names set in `[runners.feature_flags]` are included as set.
 */
export function resolveFeatureFlags(sources: FeatureFlagSources): Record<string, boolean> {
  const fromVariables = new Map<string, string>();
  for (const entry of sources.environment ?? []) {
    const at = entry.indexOf('=');
    if (at > 0) fromVariables.set(entry.slice(0, at), entry.slice(at + 1));
  }
  for (const variable of sources.variables ?? []) fromVariables.set(variable.key, variable.value);

  const result: Record<string, boolean> = {};
  for (const flag of FEATURE_FLAGS) {
    const raw = fromVariables.get(flag.name);
    result[flag.name] = raw === undefined || raw === '' ? flag.defaultValue : (parseGoBool(raw) ?? false);
  }
  for (const [name, value] of Object.entries(sources.featureFlags ?? {})) result[name] = value;
  return result;
}

/** Names of the flags that are on, sorted in code-point order (`effective.runners[].feature_flags_on`). */
export function featureFlagsOn(flags: Readonly<Record<string, boolean>>): string[] {
  return Object.keys(flags)
    .filter((name) => flags[name] === true)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
