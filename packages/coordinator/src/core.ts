import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { isFinishedJobStatus, type JobStatus } from '@runnerkit/job-spec';
import { handleAdmin } from './admin.js';
import { downloadArtifacts, uploadArtifacts } from './artifacts.js';
import { CoordinatorError } from './errors.js';
import { type Endpoint, type Fault, FaultTable, type RecordedRequest } from './faults.js';
import { serveGit } from './git-http.js';
import {
  BodyTooLargeError,
  isObject,
  parseJson,
  readBody,
  sendEmpty,
  sendJson,
  sendMessage,
  sendText,
} from './http.js';
import * as api from './runner-api.js';
import { type JobRecord, type RunnerRecord, Store } from './state.js';
import type { PipelineView } from './views.js';
import {
  newCreatedRunnerToken,
  newJobToken,
  newPersonalAccessToken,
  newQueueValue,
  newRegisteredRunnerToken,
  newRegistrationToken,
} from './tokens.js';

export interface ResolvedOptions {
  host: string;
  port: number;
  dataDir: string | null;
  pathPrefix: string;
  registrationEnabled: boolean;
  longPollingSeconds: number;
  traceUpdateIntervalSeconds: number;
  traceSizeLimitBytes: number;
  maxArtifactSizeBytes: number;
  finalUpdateGiveUpSeconds: number;
  tokenExpiresInSeconds: number | null;
  recordBodyLimitBytes: number;
  recordLimit: number;
  gitPath: string;
  temporaryDirectory: string;
}

export interface NewRunnerOptions {
  id?: number;
  token?: string;
  tokenKind?: 'created' | 'registered';
  tokenExpiresAt?: string | null;
  description?: string;
  maintenanceNote?: string;
  tags?: string[];
  runUntagged?: boolean;
  locked?: boolean;
  accessLevel?: 'not_protected' | 'ref_protected';
  maximumTimeout?: number | null;
  paused?: boolean;
  queueValue?: string;
}

export interface NewJobOptions {
  /** Runner tags the job needs (a runner must have all of them); untagged jobs need `run_untagged`. */
  tags?: string[];
  /** The job's ref is protected (only then may `ref_protected` runners take it). */
  protectedRef?: boolean;
  /** `pending` (default: the job is queued) or `created`/`manual`/`skipped` (not queued). */
  status?: JobStatus;
  pipelineId?: number | null;
  meta?: Record<string, unknown>;
}

export interface PipelineHooks {
  jobFinished(job: JobRecord): void;
}

/** What `POST /-/pipelines` is wired to once @runnerkit/pipeline is available. */
export interface PipelineDriver {
  create(body: Record<string, unknown>): Promise<PipelineView | { error: string }>;
  /** Plays a manual (or delayed) job of a pipeline, as GitLab's play button does. */
  play?(jobId: number): { ok: true } | { error: string; status: 400 | 404 };
  /** Releases what the driver holds (temporary repositories); called by `close()`. */
  close?(): Promise<void>;
}

/** A repository served for one pipeline: a temporary mirror of its `project_dir`. */
export interface PipelineRepository {
  projectPath: string;
  directory: string;
}

const PROCESSING_BODY_LIMIT = 8 * 1024 * 1024;
const WORKHORSE_BODY_LIMIT = 32 * 1024;

interface Route {
  endpoint: Endpoint | 'admin' | 'unknown';
  jobId?: number;
  runnerId?: number;
}

/** The fake's machinery: state, runner API, faults, recording. `createCoordinator` wraps it in a handle. */
export class CoordinatorCore {
  readonly store: Store;
  readonly faults = new FaultTable();
  readonly registrationToken: string;
  readonly personalAccessToken: string;
  readonly recorded: RecordedRequest[] = [];
  /** Where artifacts live: the data directory, or a temporary directory removed on close. */
  readonly artifactsRoot: string;
  private readonly temporaryRoot: string | null;
  traceUpdateInterval: number;
  traceSizeLimit: number;
  longPollingSeconds: number;
  maintenance: { retryAfterSeconds: number } | null = null;
  pipelineHooks: PipelineHooks | null = null;
  pipelineDriver: PipelineDriver | null = null;
  /** Repositories served over git smart HTTP: project path (`local/<name>`) → directory. */
  readonly projects = new Map<string, string>();
  /** Per-pipeline mirrors served instead of `projects` to that pipeline's jobs: pipeline id → mirror. */
  readonly pipelineRepositories = new Map<number, PipelineRepository>();
  url = '';
  private sequence = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Map<number, Set<() => void>>();
  private closing = false;

  constructor(
    readonly options: ResolvedOptions,
    secrets: { registrationToken?: string; personalAccessToken?: string },
    readonly clock: () => number,
  ) {
    this.store = new Store(options.dataDir);
    this.temporaryRoot = options.dataDir
      ? null
      : mkdtempSync(join(options.temporaryDirectory, 'runnerkit-coordinator-'));
    this.artifactsRoot = options.dataDir ?? (this.temporaryRoot as string);
    this.registrationToken = secrets.registrationToken ?? newRegistrationToken();
    this.personalAccessToken = secrets.personalAccessToken ?? newPersonalAccessToken();
    this.traceUpdateInterval = options.traceUpdateIntervalSeconds;
    this.traceSizeLimit = options.traceSizeLimitBytes;
    this.longPollingSeconds = options.longPollingSeconds;
  }

  now(): string {
    return new Date(this.clock()).toISOString();
  }

  tokenExpiry(expires: boolean): string | null {
    const seconds = this.options.tokenExpiresInSeconds;
    if (seconds !== null) return new Date(this.clock() + seconds * 1000).toISOString();
    return expires ? new Date(this.clock() + 90 * 24 * 3600 * 1000).toISOString() : null;
  }

  // ---- runners -------------------------------------------------------------------------------------

  addRunner(options: NewRunnerOptions): RunnerRecord {
    const id = options.id ?? this.store.nextRunnerId;
    if (this.store.runners.has(id)) {
      throw new CoordinatorError('COORDINATOR_CONFLICT', `runner ${id} already exists`);
    }
    this.store.nextRunnerId = Math.max(this.store.nextRunnerId, id + 1);
    const tokenKind = options.tokenKind ?? 'created';
    const runner: RunnerRecord = {
      id,
      token: options.token ?? (tokenKind === 'created' ? newCreatedRunnerToken() : newRegisteredRunnerToken()),
      tokenKind,
      tokenExpiresAt: options.tokenExpiresAt ?? this.tokenExpiry(false),
      runnerType: 'instance_type',
      description: options.description ?? '',
      maintenanceNote: options.maintenanceNote ?? '',
      paused: options.paused ?? false,
      tags: options.tags ?? [],
      runUntagged: options.runUntagged ?? true,
      locked: options.locked ?? false,
      accessLevel: options.accessLevel ?? 'not_protected',
      maximumTimeout: options.maximumTimeout ?? null,
      contactedAt: null,
      queueValue: options.queueValue ?? newQueueValue(),
      managers: {},
    };
    this.store.runners.set(id, runner);
    this.store.changed();
    return runner;
  }

  /** Changes a runner's settings; its queue value changes, as GitLab's does. */
  updateRunner(
    id: number,
    changes: Partial<Pick<RunnerRecord, 'paused' | 'tags' | 'runUntagged' | 'locked' | 'accessLevel' | 'description'>>,
  ): RunnerRecord {
    const runner = this.store.runners.get(id);
    if (!runner) throw new CoordinatorError('COORDINATOR_NOT_FOUND', `no runner ${id}`);
    Object.assign(runner, Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)));
    runner.queueValue = newQueueValue();
    this.wake(runner.id);
    this.store.changed();
    return runner;
  }

  // ---- jobs ----------------------------------------------------------------------------------------

  /** Adds a job from a wire payload; fills `id` and `token` when missing. */
  addJob(payload: Record<string, unknown>, options: NewJobOptions = {}): JobRecord {
    const wire = structuredClone(payload);
    let id = typeof wire.id === 'number' && Number.isSafeInteger(wire.id) && wire.id > 0 ? wire.id : undefined;
    if (id !== undefined && this.store.jobs.has(id)) {
      throw new CoordinatorError('COORDINATOR_CONFLICT', `job ${id} already exists`);
    }
    id ??= this.store.nextJobId;
    this.store.nextJobId = Math.max(this.store.nextJobId, id + 1);
    wire.id = id;
    if (typeof wire.token !== 'string' || wire.token === '') wire.token = newJobToken();
    const jobInfo = isObject(wire.job_info) ? wire.job_info : undefined;
    if (jobInfo && jobInfo.id === undefined) jobInfo.id = id;
    const now = this.now();
    const job: JobRecord = {
      id,
      token: wire.token as string,
      name: typeof jobInfo?.name === 'string' ? jobInfo.name : `job-${id}`,
      stage: typeof jobInfo?.stage === 'string' ? jobInfo.stage : 'test',
      status: options.status ?? 'pending',
      failureReason: null,
      exitCode: null,
      payload: wire,
      projectId: typeof jobInfo?.project_id === 'number' ? jobInfo.project_id : 0,
      projectPath: typeof jobInfo?.project_full_path === 'string' ? jobInfo.project_full_path : '',
      tags: options.tags ?? [],
      protectedRef: options.protectedRef ?? (isObject(wire.git_info) && wire.git_info.protected === true),
      pipelineId: options.pipelineId ?? null,
      runnerId: null,
      runnerManager: null,
      acknowledged: false,
      cancelGracefully: false,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
      finalUpdateSince: null,
      artifacts: [],
      meta: options.meta ?? {},
    };
    this.store.jobs.set(id, job);
    if (job.status === 'pending') this.enqueued();
    this.store.changed();
    return job;
  }

  /** A job became pending: every runner's queue value changes and long polls wake up. */
  enqueued(): void {
    this.store.tickQueues();
    for (const id of this.waiters.keys()) this.wake(id);
  }

  private wake(runnerId: number): void {
    const set = this.waiters.get(runnerId);
    if (!set) return;
    this.waiters.delete(runnerId);
    for (const resolve of set) resolve();
  }

  setStatus(job: JobRecord, status: JobStatus): void {
    const before = job.status;
    job.status = status;
    job.updatedAt = this.now();
    if (status === 'running') {
      job.acknowledged = true;
      if (job.startedAt === null) job.startedAt = job.updatedAt;
    }
    if (isFinishedJobStatus(status) && !isFinishedJobStatus(before)) {
      job.finishedAt = job.updatedAt;
      job.finalUpdateSince = null;
      if (status === 'canceled') job.failureReason = null;
    }
    if (status === 'pending' && before !== 'pending') this.enqueued();
    this.store.changed();
    if (isFinishedJobStatus(status) && !isFinishedJobStatus(before)) this.pipelineHooks?.jobFinished(job);
  }

  /** Cancels a job as a user would (api-spec §9.1); `force` moves a canceling job to canceled. */
  cancelJob(id: number, force = false): JobRecord {
    const job = this.store.jobs.get(id);
    if (!job) throw new CoordinatorError('COORDINATOR_NOT_FOUND', `no job ${id}`);
    if (isFinishedJobStatus(job.status)) return job;
    if (job.status === 'running' && job.cancelGracefully && !force) this.setStatus(job, 'canceling');
    else this.setStatus(job, 'canceled');
    this.enqueued();
    return job;
  }

  pickJob(runner: RunnerRecord, systemId: string): JobRecord | undefined {
    const features = runner.managers[systemId]?.features ?? {};
    const candidates = [...this.store.jobs.values()].sort((a, b) => a.id - b.id);
    return candidates.find(
      (job) =>
        job.status === 'pending' &&
        job.runnerId === null &&
        job.tags.every((tag) => runner.tags.includes(tag)) &&
        (job.tags.length > 0 || runner.runUntagged) &&
        (runner.accessLevel !== 'ref_protected' || job.protectedRef) &&
        requiredFeatures(job).every((feature) => features[feature as keyof typeof features] !== false),
    );
  }

  /** Hands the job to the runner; returns the payload text sent verbatim. */
  assignJob(job: JobRecord, runner: RunnerRecord, systemId: string): string {
    const features = runner.managers[systemId]?.features ?? {};
    job.runnerId = runner.id;
    job.runnerManager = systemId;
    job.cancelGracefully = features.cancel_gracefully === true;
    // GitLab caps the job timeout at the runner's maximum_timeout when it assigns the job.
    const runnerInfo = job.payload.runner_info;
    if (runner.maximumTimeout !== null && runner.maximumTimeout > 0 && isObject(runnerInfo)) {
      const timeout = typeof runnerInfo.timeout === 'number' ? runnerInfo.timeout : 0;
      if (timeout === 0 || timeout > runner.maximumTimeout) runnerInfo.timeout = runner.maximumTimeout;
    }
    if (features.two_phase_job_commit === true) {
      job.updatedAt = this.now();
      this.store.changed();
    } else {
      job.acknowledged = true;
      this.setStatus(job, 'running');
    }
    return JSON.stringify(job.payload);
  }

  // ---- HTTP ----------------------------------------------------------------------------------------

  async listen(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendMessage(response, 500, '500 Internal Server Error');
        else response.destroy(error as Error);
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.keepAliveTimeout = 90_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new CoordinatorError(
            'COORDINATOR_LISTEN_FAILED',
            `cannot listen on ${this.options.host}:${this.options.port}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${address.port}${this.options.pathPrefix}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const id of [...this.waiters.keys()]) this.wake(id);
    this.store.save();
    const server = this.server;
    await this.pipelineDriver?.close?.();
    if (this.temporaryRoot) rmSync(this.temporaryRoot, { recursive: true, force: true });
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, 200).unref();
    });
  }

  applyFault(fault: Fault): void {
    switch (fault.type) {
      case 'respond':
      case 'drop':
      case 'drop-trace-answer':
      case 'final-update-accepted':
        this.faults.add(fault);
        return;
      case 'lose-trace-tail': {
        const trace = this.store.trace(fault.jobId);
        trace.truncate(trace.size - fault.bytes);
        return;
      }
      case 'maintenance':
        this.maintenance = fault.enabled ? { retryAfterSeconds: fault.retryAfterSeconds ?? 60 } : null;
        return;
      case 'trace-update-interval':
        this.traceUpdateInterval = fault.seconds;
        return;
      case 'trace-size-limit':
        this.traceSizeLimit = fault.bytes;
        return;
      case 'long-polling':
        this.longPollingSeconds = fault.seconds;
        return;
    }
  }

  private route(method: string, path: string): Route {
    if (path.startsWith('/-/')) return { endpoint: 'admin' };
    let match: RegExpExecArray | null;
    if (path === '/api/v4/runners') return { endpoint: method === 'DELETE' ? 'unregister' : 'register' };
    if (path === '/api/v4/runners/verify') return { endpoint: 'verify' };
    if (path === '/api/v4/runners/managers') return { endpoint: 'unregister-manager' };
    if (path === '/api/v4/runners/reset_authentication_token') return { endpoint: 'reset-token' };
    if ((match = /^\/api\/v4\/runners\/(\d+)\/reset_authentication_token$/.exec(path))) {
      return { endpoint: 'reset-token-by-id', runnerId: Number(match[1]) };
    }
    if (path === '/api/v4/runners/router/discovery') return { endpoint: 'router-discovery' };
    if (path === '/api/v4/jobs/request') return { endpoint: 'job-request' };
    if ((match = /^\/api\/v4\/jobs\/(\d+)$/.exec(path))) return { endpoint: 'job-update', jobId: Number(match[1]) };
    if ((match = /^\/api\/v4\/jobs\/(\d+)\/trace$/.exec(path))) return { endpoint: 'trace', jobId: Number(match[1]) };
    if ((match = /^\/api\/v4\/jobs\/(\d+)\/artifacts$/.exec(path))) {
      return { endpoint: method === 'GET' ? 'artifacts-download' : 'artifacts-upload', jobId: Number(match[1]) };
    }
    if (/\.git(\/|$)/.test(path)) return { endpoint: 'git' };
    return { endpoint: 'unknown' };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://coordinator.invalid');
    let path = url.pathname;
    const prefix = this.options.pathPrefix;
    if (prefix && (path === prefix || path.startsWith(`${prefix}/`))) path = path.slice(prefix.length) || '/';
    const method = request.method ?? 'GET';
    const route = this.route(method, path);
    // GitLab answers with its correlation id; the fake reuses the caller's when it sent one.
    const requestId = request.headers['x-request-id'];
    response.setHeader('X-Request-Id', typeof requestId === 'string' && requestId !== '' ? requestId : newQueueValue());
    const streaming = route.endpoint === 'artifacts-upload' || route.endpoint === 'git';

    let body: Buffer = Buffer.alloc(0);
    if (!streaming) {
      try {
        body = await readBody(request, PROCESSING_BODY_LIMIT);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendMessage(response, 413, '413 Request Entity Too Large');
        throw error;
      }
    }
    const record: RecordedRequest = {
      sequence: ++this.sequence,
      time: this.now(),
      endpoint: route.endpoint,
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      // A copy, so a large body is not kept alive by its recording.
      body: Buffer.from(body.subarray(0, this.options.recordBodyLimitBytes)),
      bodyBytes: body.length,
      status: null,
    };
    if (route.endpoint !== 'admin') {
      this.recorded.push(record);
      if (this.recorded.length > this.options.recordLimit)
        this.recorded.splice(0, this.recorded.length - this.options.recordLimit);
    }
    response.on('finish', () => {
      record.status = response.statusCode;
    });

    if (route.endpoint === 'admin') return handleAdmin(this, request, response, method, path, url.searchParams, body);
    if (route.endpoint === 'unknown') return sendMessage(response, 404, '404 Not Found');

    if (this.faults.take('drop', route.endpoint, route.jobId)) {
      request.socket.destroy();
      return;
    }
    const injected = this.faults.take('respond', route.endpoint, route.jobId);
    if (injected) {
      if (streaming) request.resume();
      const headers = injected.headers ?? {};
      if (injected.bodyText !== undefined) return sendText(response, injected.status, injected.bodyText, headers);
      if (injected.body !== undefined) return sendJson(response, injected.status, injected.body, headers);
      return sendEmpty(response, injected.status, headers);
    }
    if (this.maintenance && route.endpoint !== 'git') {
      if (streaming) request.resume();
      return sendMessage(response, 429, 'Executing database migrations. Please retry later.', {
        'Retry-After': String(this.maintenance.retryAfterSeconds),
      });
    }
    const json = () => parseJson(body);
    switch (route.endpoint) {
      case 'register':
        return api.register(this, json(), response);
      case 'verify':
        return api.verify(this, json(), response);
      case 'unregister':
        return api.unregister(this, json(), response);
      case 'unregister-manager':
        return api.unregisterManager(this, json(), response);
      case 'reset-token':
        return api.resetToken(this, json(), response);
      case 'reset-token-by-id':
        return api.resetTokenById(this, request, route.runnerId ?? 0, response);
      case 'router-discovery':
        return sendMessage(response, 501, 'Job Router is not available. Please contact your administrator.');
      case 'job-request':
        return this.longPoll(body, response);
      case 'job-update':
        return api.updateJob(this, request, url.searchParams, route.jobId ?? 0, json(), response);
      case 'trace':
        if (method !== 'PATCH') return sendMessage(response, 405, '405 Method Not Allowed');
        return api.appendTrace(this, request, url.searchParams, route.jobId ?? 0, body, response);
      case 'artifacts-upload':
        return uploadArtifacts(this, request, url.searchParams, route.jobId ?? 0, response);
      case 'artifacts-download':
        return downloadArtifacts(this, request, url.searchParams, route.jobId ?? 0, response);
      case 'git':
        return serveGit(this, request, response, path, url.search);
    }
  }

  /** Workhorse's long-polling layer in front of the Rails job request (api-spec §4.3). */
  private async longPoll(body: Buffer, response: ServerResponse): Promise<void> {
    const duration = this.longPollingSeconds;
    if (duration <= 0) return api.requestJob(this, parseJson(body), response, {});
    const polling = { 'Gitlab-Ci-Builds-Polling': 'yes' };
    if (body.length > WORKHORSE_BODY_LIMIT) return sendMessage(response, 413, '413 Request Entity Too Large', polling);
    const parsed = parseJson(body);
    const token = isObject(parsed) && typeof parsed.token === 'string' ? parsed.token : '';
    const lastUpdate = isObject(parsed) && typeof parsed.last_update === 'string' ? parsed.last_update : '';
    const runner = this.store.findRunnerByToken(token);
    if (!token || !lastUpdate || !runner || runner.queueValue !== lastUpdate) {
      return api.requestJob(this, parsed, response, polling);
    }
    const changed = await new Promise<boolean>((resolve) => {
      let set = this.waiters.get(runner.id);
      if (!set) this.waiters.set(runner.id, (set = new Set()));
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        set.delete(waiter);
        resolve(false);
      }, duration * 1000);
      set.add(waiter);
      response.on('close', () => {
        clearTimeout(timer);
        set.delete(waiter);
      });
    });
    if (changed && this.closing) return sendEmpty(response, 204, polling);
    sendEmpty(response, 204, polling);
  }
}

/** Runner features a job needs (api-spec §3.7, column 4). */
function requiredFeatures(job: JobRecord): string[] {
  const payload = job.payload;
  const needed: string[] = [];
  const artifacts = Array.isArray(payload.artifacts) ? payload.artifacts.filter(isObject) : [];
  if (artifacts.some((artifact) => Array.isArray(artifact.exclude) && artifact.exclude.length > 0)) {
    needed.push('artifacts_exclude');
  }
  if (artifacts.some((artifact) => artifact.artifact_type !== undefined && artifact.artifact_type !== 'archive')) {
    needed.push('upload_multiple_artifacts');
  }
  const caches = Array.isArray(payload.cache) ? payload.cache.filter(isObject) : [];
  if (caches.some((cache) => Array.isArray(cache.fallback_keys) && cache.fallback_keys.length > 0)) {
    needed.push('fallback_cache_keys');
  }
  const steps = Array.isArray(payload.steps) ? payload.steps.filter(isObject) : [];
  if (steps.some((step) => step.name === 'release')) needed.push('multi_build_steps');
  if (isObject(payload.secrets) && Object.keys(payload.secrets).length > 0) needed.push('vault_secrets');
  return needed;
}
