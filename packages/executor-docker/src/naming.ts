// Docker object names and labels as GitLab Runner gives them (docker-executor §5.1, §5.2, §7.1).
import { createHash } from 'node:crypto';

/** RFC 1123 form GitLab uses for names and hostnames: lower case, `[-a-z0-9]`, no leading dash, ≤ 63. */
export function rfc1123(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^-a-z0-9]/g, '')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
}

export interface NamingInput {
  shortToken: string;
  runnerToken: string;
  systemId?: string | undefined;
  projectId: number;
  concurrentProjectId: number;
  jobId: number;
}

/** `runner-<short>-project-<id>-concurrent-<n>`: container hostname and name prefix. */
export function projectUniqueName(input: NamingInput): string {
  return rfc1123(`runner-${input.shortToken}-project-${input.projectId}-concurrent-${input.concurrentProjectId}`);
}

/** `runner-<short>-<project>-<concurrent project id>-<job id>`: the per-job network. */
export function projectUniqueShortName(input: NamingInput): string {
  return rfc1123(`runner-${input.shortToken}-${input.projectId}-${input.concurrentProjectId}-${input.jobId}`);
}

/** GitLab ≥ 18.4: `runner-` + 32 hex of sha256(token-systemid-project-concurrent project id). */
export function projectRealUniqueName(input: NamingInput): string {
  const digest = createHash('sha256')
    .update(`${input.runnerToken}-${input.systemId || 'unknown'}-${input.projectId}-${input.concurrentProjectId}`)
    .digest('hex');
  return `runner-${digest.slice(0, 32)}`;
}

export function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** A reusable (persistent) cache volume for `path`. */
export function cacheVolumeName(input: NamingInput, path: string, protectedRef: boolean): string {
  return `${projectRealUniqueName(input)}-cache-${md5(path)}${protectedRef ? '-protected' : ''}`;
}

/** A temporary volume for `path` (removed at cleanup). */
export function temporaryVolumeName(prefix: string, path: string): string {
  return `${prefix}-cache-${md5(path)}`;
}

/** Service container name: `<P-R>-<service name with / → __>-<index>`. */
export function serviceContainerName(prefix: string, service: string, index: number): string {
  return `${prefix}-${service.replaceAll('/', '__')}-${index}`;
}

export const LABEL_PREFIX = 'com.gitlab.gitlab-runner.';
export const MANAGED_LABEL = `${LABEL_PREFIX}managed`;
/**
 * runnerkit's own label (not GitLab's namespace): which runner process created the object, as an opaque value the
 * caller chooses (the CLI: host, pid and a per-process id), so a restarted runner can tell abandoned objects from
 * those of a live process.
 */
export const OWNER_LABEL = 'dev.runnerkit.owner';

export interface LabelInput {
  jobId: number;
  jobUrl?: string | undefined;
  sha?: string | undefined;
  beforeSha?: string | undefined;
  ref?: string | undefined;
  timeout: string;
  projectId: number;
  concurrentProjectId: number;
  pipelineId?: string | undefined;
  shortToken: string;
  concurrentId: number;
  systemId?: string | undefined;
  /** Value of {@link OWNER_LABEL}; left out when undefined. */
  owner?: string | undefined;
}

/** The labels every container, volume and network of a job carries, plus `type` and extras. */
export function jobLabels(input: LabelInput, type: string, extra: Record<string, string> = {}): Record<string, string> {
  const labels: Record<string, string> = {
    [`${LABEL_PREFIX}job.id`]: String(input.jobId),
    [`${LABEL_PREFIX}job.url`]: input.jobUrl ?? '',
    [`${LABEL_PREFIX}job.sha`]: input.sha ?? '',
    [`${LABEL_PREFIX}job.before_sha`]: input.beforeSha ?? '',
    [`${LABEL_PREFIX}job.ref`]: input.ref ?? '',
    [`${LABEL_PREFIX}job.timeout`]: input.timeout,
    [`${LABEL_PREFIX}project.id`]: String(input.projectId),
    [`${LABEL_PREFIX}project.runner_id`]: String(input.concurrentProjectId),
    [`${LABEL_PREFIX}pipeline.id`]: input.pipelineId ?? '',
    [`${LABEL_PREFIX}runner.id`]: input.shortToken,
    [`${LABEL_PREFIX}runner.local_id`]: String(input.concurrentId),
    [`${LABEL_PREFIX}runner.system_id`]: input.systemId ?? '',
    [MANAGED_LABEL]: 'true',
    [`${LABEL_PREFIX}type`]: type,
  };
  if (input.owner !== undefined) labels[OWNER_LABEL] = input.owner;
  for (const [key, value] of Object.entries(extra)) labels[`${LABEL_PREFIX}${key}`] = value;
  return labels;
}
