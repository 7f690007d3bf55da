// Feature flags the runtime knows, with GitLab Runner 19.4 defaults (job-execution §4.3).
export const FEATURE_FLAG_DEFAULTS: Readonly<Record<string, boolean>> = {
  FF_NETWORK_PER_BUILD: false,
  FF_TIMESTAMPS: true,
  FF_MASK_ALL_DEFAULT_TOKENS: true,
  FF_SCRIPT_SECTIONS: false,
  FF_POSIXLY_CORRECT_ESCAPES: false,
  FF_ENABLE_BASH_EXIT_CODE_CHECK: false,
  FF_USE_LEGACY_BASH_EVAL: false,
  FF_ENABLE_JOB_CLEANUP: false,
  FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR: false,
  FF_USE_INIT_WITH_DOCKER_EXECUTOR: false,
  FF_USE_NATIVE_CONTAINER_STOP: false,
  FF_USE_FASTZIP: true,
  FF_HASH_CACHE_KEYS: false,
  FF_CLEAN_UP_FAILED_CACHE_EXTRACT: false,
  FF_USE_DIRECT_DOWNLOAD: true,
  FF_GIT_URLS_WITHOUT_TOKENS: false,
  FF_USE_GIT_NATIVE_CLONE: false,
  FF_USE_GIT_BUNDLE_URIS: true,
  FF_USE_GITALY_CORRELATION_ID: true,
  FF_USE_GIT_PROACTIVE_AUTH: false,
  FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY: true,
};

/** Go's strconv.ParseBool. */
export function parseGoBool(value: string): boolean | undefined {
  switch (value) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

/**
 * Resolves every known flag: the runner's configured value (`configured`, already parsed by config-schema) wins;
 * else the last `FF_*` variable of the job or the runner's `environment`; else the default.
 * Unparsable variable values produce a warning and the default.
 */
export function resolveFeatureFlags(
  configured: Readonly<Record<string, boolean>>,
  lookup: (key: string) => string | undefined,
  warnings: string[],
): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  const names = new Set([...Object.keys(FEATURE_FLAG_DEFAULTS), ...Object.keys(configured)]);
  for (const name of names) {
    const fromConfig = configured[name];
    if (fromConfig !== undefined) {
      flags[name] = fromConfig;
      continue;
    }
    const fallback = FEATURE_FLAG_DEFAULTS[name] ?? false;
    const raw = lookup(name);
    if (raw === undefined || raw === '') {
      flags[name] = fallback;
      continue;
    }
    const parsed = parseGoBool(raw);
    if (parsed === undefined) warnings.push(`${name}: expected bool got "${raw}", using default value: ${fallback}`);
    flags[name] = parsed ?? fallback;
  }
  return flags;
}

/** `FF_A:true, FF_B:false` for flags that differ from their default (the header's `feature flags:` line). */
export function describeChangedFlags(flags: Readonly<Record<string, boolean>>): string {
  return Object.entries(flags)
    .filter(([name, value]) => (FEATURE_FLAG_DEFAULTS[name] ?? false) !== value)
    .map(([name, value]) => `${name}:${value}`)
    .join(', ');
}
