// The one way the CLI builds a job API client for a [[runners]] entry (register, verify, unregister, run, exec):
// its TLS files, its executor and shell in `info`, its final-update retry limit, where job traces are spooled, and
// the client's events handed to the caller (log lines, request metrics).
import type { RunnerConfig } from '@runnerkit/config-schema';
import { createJobApiClient, type JobApiClient, type JobApiEvent } from '@runnerkit/job-api-client';
import packageJson from '../package.json' with { type: 'json' };

export const PRODUCT = { name: 'runnerkit', version: packageJson.version, revision: 'source' } as const;

export interface RunnerClientOptions {
  /** Default: the entry's `url`. */
  url?: string | undefined;
  onEvent?: ((event: JobApiEvent) => void) | undefined;
  /** Where job traces are spooled while they are uploaded (GitLab Runner keeps them in temporary files too). */
  traceSpoolDirectory?: string | undefined;
}

/** A client for one runner entry. Without an executor (registration) `info` carries no executor or shell. */
export function createRunnerClient(runner: Partial<RunnerConfig>, options: RunnerClientOptions = {}): JobApiClient {
  const executor = runner.executor ?? '';
  // GitLab Runner's Unix executors run bash unless `shell` says otherwise.
  const shell = runner.shell || (executor ? 'bash' : '');
  return createJobApiClient({
    url: options.url ?? runner.url ?? '',
    runner: {
      name: PRODUCT.name,
      version: PRODUCT.version,
      revision: PRODUCT.revision,
      ...(executor ? { executor } : {}),
      ...(shell ? { shell } : {}),
      ...(runner.labels ? { labels: runner.labels } : {}),
    },
    tls: {
      ...(runner['tls-ca-file'] ? { caFile: runner['tls-ca-file'] } : {}),
      ...(runner['tls-cert-file'] ? { certFile: runner['tls-cert-file'] } : {}),
      ...(runner['tls-key-file'] ? { keyFile: runner['tls-key-file'] } : {}),
    },
    jobSession: {
      ...(runner.job_status_final_update_retry_limit
        ? { finalUpdateRetryLimit: runner.job_status_final_update_retry_limit }
        : {}),
      ...(options.traceSpoolDirectory ? { traceSpool: { directory: options.traceSpoolDirectory } } : {}),
    },
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

/**
 * GitLab Runner's `endpoint` label of gitlab_runner_api_request_statuses_total for a request, or undefined for
 * the calls it does not count (registration, artifacts).
 */
export function apiEndpointName(method: string, path: string): string | undefined {
  if (method === 'POST' && /\/jobs\/request$/.test(path)) return 'request_job';
  if (method === 'PUT' && /\/jobs\/\d+$/.test(path)) return 'update_job';
  if (method === 'PATCH' && /\/jobs\/\d+\/trace$/.test(path)) return 'patch_trace';
  if (method === 'POST' && /\/runners\/reset_authentication_token$/.test(path)) return 'reset_token';
  return undefined;
}
