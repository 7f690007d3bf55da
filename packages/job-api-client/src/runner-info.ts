/** Every feature key of spec §3.7; all are always sent. */
export const FEATURE_KEYS = [
  'variables',
  'image',
  'services',
  'artifacts',
  'cache',
  'fallback_cache_keys',
  'shared',
  'upload_multiple_artifacts',
  'upload_raw_artifacts',
  'session',
  'terminal',
  'refspecs',
  'masking',
  'proxy',
  'raw_variables',
  'artifacts_exclude',
  'multi_build_steps',
  'trace_reset',
  'trace_checksum',
  'trace_size',
  'vault_secrets',
  'cancelable',
  'return_exit_code',
  'service_variables',
  'service_multiple_aliases',
  'image_executor_opts',
  'service_executor_opts',
  'cancel_gracefully',
  'native_steps_integration',
  'two_phase_job_commit',
  'job_inputs',
] as const;

export type FeatureKey = (typeof FEATURE_KEYS)[number];
export type RunnerFeatures = Record<FeatureKey, boolean>;

/** The client-side features every runnerkit executor has (network client and shell layer). */
export const BASE_FEATURES: RunnerFeatures = {
  variables: true,
  image: false,
  services: false,
  artifacts: true,
  cache: true,
  fallback_cache_keys: true,
  shared: false,
  upload_multiple_artifacts: true,
  upload_raw_artifacts: true,
  session: false,
  terminal: false,
  refspecs: true,
  masking: true,
  proxy: false,
  raw_variables: true,
  artifacts_exclude: true,
  multi_build_steps: true,
  trace_reset: true,
  trace_checksum: true,
  trace_size: true,
  vault_secrets: false,
  cancelable: true,
  return_exit_code: true,
  service_variables: false,
  service_multiple_aliases: false,
  image_executor_opts: false,
  service_executor_opts: false,
  cancel_gracefully: true,
  native_steps_integration: false,
  two_phase_job_commit: true,
  job_inputs: false,
};

/** Features per executor (spec §3.7, last column). */
export const EXECUTOR_FEATURES: Record<string, Partial<RunnerFeatures>> = {
  docker: {
    image: true,
    services: true,
    service_variables: true,
    service_multiple_aliases: true,
    image_executor_opts: true,
    service_executor_opts: true,
  },
  ssh: { shared: true },
  shell: { shared: true },
};

/** The runner `info` object of spec §3.7 as sent on the wire. */
export interface RunnerInfo {
  name?: string;
  version: string;
  revision: string;
  platform: string;
  architecture: string;
  executor?: string;
  shell?: string;
  features: RunnerFeatures;
  config: { gpus: string };
  labels?: Record<string, string>;
}

export interface RunnerInfoOptions {
  name?: string;
  version?: string;
  revision?: string;
  /** Defaults to Go's name for process.platform. */
  platform?: string;
  /** Defaults to Go's name for process.arch. */
  architecture?: string;
  executor?: string;
  shell?: string;
  /** Overrides on top of the executor's defaults. */
  features?: Partial<RunnerFeatures>;
  gpus?: string;
  labels?: Record<string, string>;
}

/** runnerkit rule (spec §3.7): Node platform/arch names to Go's. */
export function goPlatform(platform: string = process.platform): string {
  return platform === 'win32' ? 'windows' : platform;
}

export function goArchitecture(arch: string = process.arch, platform: string = process.platform): string {
  if (arch === 'x64') return 'amd64';
  if (arch === 'ia32') return '386';
  if (arch === 'ppc64' && platform === 'linux') return 'ppc64le';
  return arch;
}

export const DEFAULT_PRODUCT = { name: 'runnerkit', version: '0.1.0', revision: 'unknown', branch: 'main' } as const;

/** Builds the full info object; with `forRegistration` executor, shell and features are left out (§3.2). */
export function buildRunnerInfo(options: RunnerInfoOptions = {}): RunnerInfo {
  const executor = options.executor ?? '';
  const features: RunnerFeatures = {
    ...BASE_FEATURES,
    ...(EXECUTOR_FEATURES[executor] ?? {}),
    ...(options.features ?? {}),
  };
  const info: RunnerInfo = {
    name: options.name ?? DEFAULT_PRODUCT.name,
    version: options.version ?? DEFAULT_PRODUCT.version,
    revision: options.revision ?? DEFAULT_PRODUCT.revision,
    platform: options.platform ?? goPlatform(),
    architecture: options.architecture ?? goArchitecture(),
    features,
    config: { gpus: options.gpus ?? '' },
  };
  if (!info.name) delete info.name;
  if (executor) info.executor = executor;
  if (options.shell) info.shell = options.shell;
  if (options.labels && Object.keys(options.labels).length > 0) info.labels = { ...options.labels };
  return info;
}

/** Features the network client sets by itself; with no executor (registration) all others are false. */
export const NETWORK_CLIENT_FEATURES: readonly FeatureKey[] = [
  'trace_reset',
  'trace_checksum',
  'trace_size',
  'cancelable',
  'cancel_gracefully',
  'two_phase_job_commit',
];

/** The registration variant (spec §3.2): built without an executor, so no executor/shell, client features only. */
export function registrationInfo(info: RunnerInfo): RunnerInfo {
  const { executor: _e, shell: _s, features: _f, ...rest } = info;
  const features = Object.fromEntries(
    FEATURE_KEYS.map((key) => [key, NETWORK_CLIENT_FEATURES.includes(key)]),
  ) as RunnerFeatures;
  return { ...rest, features };
}

/** `runnerkit 0.1.0 (main; node-v20.11.1; linux/amd64)` */
export function defaultUserAgent(info: { name?: string; version: string; platform: string; architecture: string }) {
  return `${info.name || DEFAULT_PRODUCT.name} ${info.version} (${DEFAULT_PRODUCT.branch}; node-${process.version}; ${info.platform}/${info.architecture})`;
}
