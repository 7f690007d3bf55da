import { type ArtifactFormat, downloadArtifact, uploadArtifact } from './artifacts.js';
import type {
  DownloadArtifactOptions,
  DownloadArtifactResult,
  UploadArtifactOptions,
  UploadArtifactResult,
} from './artifacts.js';
import { JobApiError, type JobPayloadError } from './errors.js';
import { HealthTracker } from './health.js';
import { JobSession, type JobSessionOptions } from './job-session.js';
import type { JobRequestBody } from '@runnerkit/job-spec';
import { debugTraceEnabled, type JobPayload, parseJob } from './payload.js';
import { readJson, statusError } from './response.js';
import { buildRunnerInfo, defaultUserAgent, type RunnerInfo, type RunnerInfoOptions } from './runner-info.js';
import { type RegisterOptions, type RunnerCredentials, RunnerEndpoints, type VerifyResult } from './runners.js';
import {
  type Clock,
  type JobApiEvent,
  type RetryOptions,
  type TlsOptions,
  Transport,
  type TransportResponse,
} from './transport.js';

export interface JobApiClientOptions {
  /** GitLab URL from config.toml (`https://gitlab.example.com/`, `…/ci` accepted). */
  url: string;
  /** An undici dispatcher to use; otherwise the client creates (and owns) an Agent from `tls`. */
  dispatcher?: import('undici').Dispatcher;
  /** tls-ca-file / tls-cert-file / tls-key-file, as contents or paths. */
  tls?: TlsOptions;
  /** connection_max_age in ms (15 min); 0 keeps connections forever. Only for the client's own Agent. */
  connectionMaxAgeMs?: number;
  /** The runner `info` sent with every call (product, executor, shell, features…). */
  runner?: RunnerInfoOptions;
  userAgent?: string;
  retry?: RetryOptions;
  clock?: Clock;
  requestId?: () => string;
  /** Typed events instead of logs; tokens never appear in them. */
  onEvent?: (event: JobApiEvent) => void;
  /** unhealthy_requests_limit / unhealthy_interval for the per-token health trackers. */
  health?: { unhealthyRequestsLimit?: number; unhealthyIntervalMs?: number };
  /** Defaults for every job session (intervals, retry limits). */
  jobSession?: Omit<JobSessionOptions, 'jobId' | 'jobToken'>;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface RequestJobOptions {
  /** Runner authentication token. */
  token: string;
  systemId?: string;
  session?: { url: string; certificate?: string; authorization?: string };
  signal?: AbortSignal;
}

export type JobRequestResult =
  | {
      kind: 'job';
      job: JobPayload;
      /** The decoded JSON as received. */
      raw: unknown;
      healthy: true;
    }
  | {
      /** The payload is JSON but invalid; `error.jobId`/`jobToken` are set when readable (report it failed). */
      kind: 'invalid-job';
      error: JobPayloadError;
      raw: unknown;
      healthy: true;
    }
  | {
      kind: 'no-job';
      healthy: true;
      lastUpdate: string | undefined;
      /**
       * The answer carried `Gitlab-Ci-Builds-Polling: yes`: Workhorse's long-polling layer answered (spec §4.3), so
       * the runner should ask again at once — the queue changed, or the held request ran out its time.
       */
      longPolling: boolean;
    }
  | {
      kind: 'failed';
      /** forbidden (403), unavailable (503), client-error (no request possible), no-answer, or the status. */
      reason: 'forbidden' | 'unavailable' | 'client-error' | 'no-answer' | 'bad-response' | 'status';
      status: number | undefined;
      healthy: boolean;
      error: JobApiError;
    };

export interface JobApiClient {
  /** The runner `info` object sent on the wire. */
  readonly runnerInfo: RunnerInfo;
  register(options: RegisterOptions): Promise<RunnerCredentials>;
  verify(options: { token: string; systemId?: string; signal?: AbortSignal }): Promise<VerifyResult>;
  unregister(options: { token: string; systemId?: string; signal?: AbortSignal }): Promise<void>;
  unregisterRunner(options: { token: string; signal?: AbortSignal }): Promise<void>;
  unregisterManager(options: { token: string; systemId: string; signal?: AbortSignal }): Promise<void>;
  resetToken(options: { token: string; signal?: AbortSignal }): Promise<Omit<RunnerCredentials, 'id'>>;
  resetTokenWithPersonalAccessToken(options: {
    runnerId: number;
    personalAccessToken: string;
    signal?: AbortSignal;
  }): Promise<Omit<RunnerCredentials, 'id'>>;
  /** `POST /api/v4/jobs/request`; never throws for server answers (only for the caller's abort). */
  requestJob(options: RequestJobOptions): Promise<JobRequestResult>;
  /** The stored `X-GitLab-Last-Update` of a runner token. */
  lastUpdate(token: string): string | undefined;
  /**
   * Whether the latest job request of a runner token that got no job was answered by the long-polling layer
   * (`longPolling` of that `no-job` result); false before any and after a job or a failure.
   */
  lastRequestLongPolled(token: string): boolean;
  /** Health accounting of a runner token (spec §4.4); fed by `requestJob`. */
  health(token: string): HealthTracker;
  /** A job's session: trace sink, update loop, cancellation, final update. */
  createJobSession(options: JobSessionOptions): JobSession;
  /** A session for a received job, with its features (failure reasons, debug trace) filled in. */
  startJob(job: JobPayload, options?: Omit<JobSessionOptions, 'jobId' | 'jobToken'>): JobSession;
  /**
   * Reports an invalid payload as a failed job (spec §5.6): acknowledge, write the error to the trace, final
   * update `failed` / `runner_system_failure`. Does nothing when id or token could not be read.
   */
  reportInvalidJob(error: JobPayloadError, options?: { runnerToken?: string; signal?: AbortSignal }): Promise<boolean>;
  uploadArtifact(options: UploadArtifactOptions): Promise<UploadArtifactResult>;
  downloadArtifact(options: DownloadArtifactOptions): Promise<DownloadArtifactResult>;
  close(): Promise<void>;
}

export type { ArtifactFormat };

/** Creates the client. Bad URL or unreadable TLS files surface as JOB_API_CLIENT_ERROR on each call. */
export function createJobApiClient(options: JobApiClientOptions): JobApiClient {
  return new Client(options);
}

class Client implements JobApiClient {
  readonly runnerInfo: RunnerInfo;
  private readonly transportOrError: Transport | JobApiError;
  private readonly lastUpdates = new Map<string, string>();
  /** Runner tokens whose latest job request got a long-polling 204. */
  private readonly longPolled = new Set<string>();
  private readonly trackers = new Map<string, HealthTracker>();
  private readonly options: JobApiClientOptions;
  private runnersApi: RunnerEndpoints | undefined;

  constructor(options: JobApiClientOptions) {
    this.options = options;
    this.runnerInfo = buildRunnerInfo(options.runner);
    try {
      this.transportOrError = new Transport({
        url: options.url,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.connectionMaxAgeMs !== undefined ? { connectionMaxAgeMs: options.connectionMaxAgeMs } : {}),
        userAgent: options.userAgent ?? defaultUserAgent(this.runnerInfo),
        ...(options.retry ? { retry: options.retry } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.requestId ? { requestId: options.requestId } : {}),
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(options.headersTimeoutMs ? { headersTimeoutMs: options.headersTimeoutMs } : {}),
        ...(options.bodyTimeoutMs ? { bodyTimeoutMs: options.bodyTimeoutMs } : {}),
        onLastUpdate: (token, value) => this.lastUpdates.set(token, value),
      });
    } catch (error) {
      this.transportOrError = JobApiError.isInstance(error)
        ? error
        : new JobApiError('JOB_API_CLIENT_ERROR', 'cannot create the HTTP client', { cause: error });
    }
  }

  private get transport(): Transport {
    if (JobApiError.isInstance(this.transportOrError)) throw this.transportOrError;
    return this.transportOrError;
  }

  private get runners(): RunnerEndpoints {
    this.runnersApi ??= new RunnerEndpoints(this.transport, this.runnerInfo);
    return this.runnersApi;
  }

  async register(options: RegisterOptions) {
    return this.runners.register(options);
  }
  async verify(options: { token: string; systemId?: string; signal?: AbortSignal }) {
    return this.runners.verify(options);
  }
  async unregister(options: { token: string; systemId?: string; signal?: AbortSignal }) {
    return this.runners.unregister(options);
  }
  async unregisterRunner(options: { token: string; signal?: AbortSignal }) {
    return this.runners.unregisterRunner(options);
  }
  async unregisterManager(options: { token: string; systemId: string; signal?: AbortSignal }) {
    return this.runners.unregisterManager(options);
  }
  async resetToken(options: { token: string; signal?: AbortSignal }) {
    return this.runners.resetToken(options);
  }
  async resetTokenWithPersonalAccessToken(options: {
    runnerId: number;
    personalAccessToken: string;
    signal?: AbortSignal;
  }) {
    return this.runners.resetTokenWithPersonalAccessToken(options);
  }

  lastUpdate(token: string): string | undefined {
    return this.lastUpdates.get(token);
  }

  lastRequestLongPolled(token: string): boolean {
    return this.longPolled.has(token);
  }

  health(token: string): HealthTracker {
    let tracker = this.trackers.get(token);
    if (!tracker) {
      tracker = new HealthTracker({
        ...this.options.health,
        now: () => (this.options.clock ?? { now: Date.now }).now(),
      });
      this.trackers.set(token, tracker);
    }
    return tracker;
  }

  async requestJob(options: RequestJobOptions): Promise<JobRequestResult> {
    const result = await this.requestJobOnce(options);
    this.health(options.token).record(result.healthy);
    if (result.kind === 'no-job' && result.longPolling) this.longPolled.add(options.token);
    else this.longPolled.delete(options.token);
    return result;
  }

  private async requestJobOnce(options: RequestJobOptions): Promise<JobRequestResult> {
    let transport: Transport;
    try {
      transport = this.transport;
    } catch (error) {
      return { kind: 'failed', reason: 'client-error', status: undefined, healthy: false, error: error as JobApiError };
    }
    const body: JobRequestBody = { info: this.runnerInfo, token: options.token };
    if (options.systemId) body.system_id = options.systemId;
    const lastUpdate = this.lastUpdates.get(options.token);
    if (lastUpdate) body.last_update = lastUpdate;
    if (options.session) body.session = options.session;
    let response: TransportResponse;
    try {
      response = await transport.send({
        method: 'POST',
        path: 'jobs/request',
        headers: { 'runner-token': options.token },
        json: body,
        acceptJson: true,
        signal: options.signal,
        secrets: [options.token],
        runnerToken: options.token,
      });
    } catch (error) {
      const apiError = JobApiError.isInstance(error)
        ? error
        : new JobApiError('JOB_API_NETWORK_ERROR', String(error), { cause: error });
      if (apiError.code === 'JOB_API_ABORTED') throw apiError;
      const clientError = apiError.code === 'JOB_API_CLIENT_ERROR';
      return {
        kind: 'failed',
        reason: clientError ? 'client-error' : 'no-answer',
        status: undefined,
        healthy: !clientError,
        error: apiError,
      };
    }
    const secrets = [options.token];
    switch (response.status) {
      case 201: {
        let raw: unknown;
        try {
          raw = await readJson(response, 'POST');
        } catch (error) {
          return {
            kind: 'failed',
            reason: 'bad-response',
            status: 201,
            healthy: true,
            error: error as JobApiError,
          };
        }
        const parsed = parseJob(raw);
        if (parsed.ok) return { kind: 'job', job: parsed.job, raw, healthy: true };
        return { kind: 'invalid-job', error: parsed.error, raw, healthy: true };
      }
      case 204:
        await response.body.dump().catch(() => undefined);
        return {
          kind: 'no-job',
          healthy: true,
          lastUpdate: this.lastUpdates.get(options.token),
          longPolling: response.headers['gitlab-ci-builds-polling']?.toLowerCase() === 'yes',
        };
      case 403:
        return {
          kind: 'failed',
          reason: 'forbidden',
          status: 403,
          healthy: false,
          error: await statusError(response, 'POST', 'JOB_API_FORBIDDEN', secrets),
        };
      case 503:
        return {
          kind: 'failed',
          reason: 'unavailable',
          status: 503,
          healthy: true,
          error: await statusError(
            response,
            'POST',
            'JOB_API_UNEXPECTED_STATUS',
            secrets,
            'GitLab instance currently unavailable',
          ),
        };
      default:
        return {
          kind: 'failed',
          reason: 'status',
          status: response.status,
          healthy: true,
          error: await statusError(
            response,
            'POST',
            response.status === 422 ? 'JOB_API_RUNNER_ORPHANED' : 'JOB_API_UNEXPECTED_STATUS',
            secrets,
          ),
        };
    }
  }

  createJobSession(options: JobSessionOptions): JobSession {
    return new JobSession(this.transport, this.runnerInfo, { ...this.options.jobSession, ...options });
  }

  startJob(job: JobPayload, options: Omit<JobSessionOptions, 'jobId' | 'jobToken'> = {}): JobSession {
    return this.createJobSession({
      ...options,
      jobId: job.id,
      jobToken: job.token,
      supportedFailureReasons: options.supportedFailureReasons ?? job.features.failure_reasons,
      debugTrace: options.debugTrace ?? debugTraceEnabled(job),
    });
  }

  async reportInvalidJob(
    error: JobPayloadError,
    options: { runnerToken?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    if (error.jobId === undefined || !error.jobToken) return false;
    const session = this.createJobSession({
      jobId: error.jobId,
      jobToken: error.jobToken,
      ...(options.runnerToken ? { runnerToken: options.runnerToken } : {}),
    });
    const ack = await session.acknowledge(options.signal);
    if (ack === 'drop') return false;
    for (const issue of error.issues) {
      session.write(`\x1b[31;1mERROR: invalid job payload: ${issue.path || '(root)'}: ${issue.message}\x1b[0;m\n`);
    }
    session.write('\x1b[31;1mERROR: Job failed (system failure): invalid job payload\x1b[0;m\n');
    const result = await session.finish({ state: 'failed', failureReason: 'runner_system_failure' }, options.signal);
    return result.outcome === 'delivered';
  }

  async uploadArtifact(options: UploadArtifactOptions) {
    return uploadArtifact(this.transport, options);
  }

  async downloadArtifact(options: DownloadArtifactOptions) {
    return downloadArtifact(this.transport, options);
  }

  async close(): Promise<void> {
    if (!JobApiError.isInstance(this.transportOrError)) await this.transportOrError.close();
  }
}
