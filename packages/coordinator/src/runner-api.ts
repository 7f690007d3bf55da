import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  GITLAB_FAILURE_REASONS,
  isCreatedRunnerToken,
  type JobStatus,
  RunnerInfoBodySchema,
} from '@runnerkit/job-spec';
import type { CoordinatorCore } from './core.js';
import { header, isObject, sendEmpty, sendJson, sendMessage, sendText } from './http.js';
import type { JobRecord, RunnerRecord } from './state.js';
import { maskSecrets, newRegisteredRunnerToken, newCreatedRunnerToken } from './tokens.js';

const LEGACY_SYSTEM_ID = '<legacy>';

function bodyToken(body: unknown): string | undefined {
  if (!isObject(body) || typeof body.token !== 'string' || body.token === '') return undefined;
  return body.token;
}

/** Records the runner manager identified by `system_id` with the details and features from `info`. */
export function heartbeat(core: CoordinatorCore, runner: RunnerRecord, body: Record<string, unknown>): string {
  const now = core.now();
  runner.contactedAt = now;
  const systemId = typeof body.system_id === 'string' && body.system_id !== '' ? body.system_id : LEGACY_SYSTEM_ID;
  const parsed = RunnerInfoBodySchema.safeParse(body.info ?? {});
  const existing = runner.managers[systemId];
  if (parsed.success && body.info !== undefined) {
    const info = parsed.data;
    runner.managers[systemId] = {
      systemId,
      name: info.name,
      version: info.version,
      revision: info.revision,
      platform: info.platform,
      architecture: info.architecture,
      executor: info.executor,
      features: info.features,
      contactedAt: now,
    };
  } else if (existing) {
    existing.contactedAt = now;
  } else {
    runner.managers[systemId] = {
      systemId,
      name: '',
      version: '',
      revision: '',
      platform: '',
      architecture: '',
      executor: '',
      features: {},
      contactedAt: now,
    };
  }
  core.store.changed();
  return systemId;
}

// POST /api/v4/runners (legacy registration, api-spec §3.2)
export function register(core: CoordinatorCore, body: unknown, response: ServerResponse) {
  const token = bodyToken(body);
  if (!token || !isObject(body)) return sendJson(response, 400, { error: 'token is missing' });
  if (!core.options.registrationEnabled) {
    return sendMessage(response, 410, '410 Gone - runner registration disallowed');
  }
  if (token !== core.registrationToken) return sendMessage(response, 403, '403 Forbidden - invalid token supplied');
  if (
    body.access_level !== undefined &&
    body.access_level !== 'not_protected' &&
    body.access_level !== 'ref_protected'
  ) {
    return sendJson(response, 400, { error: 'access_level does not have a valid value' });
  }
  if (body.maintenance_note !== undefined && body.maintainer_note !== undefined) {
    return sendJson(response, 400, { error: 'maintenance_note, maintainer_note are mutually exclusive' });
  }
  if (body.paused !== undefined && body.active !== undefined) {
    return sendJson(response, 400, { error: 'paused, active are mutually exclusive' });
  }
  const note = String(body.maintenance_note ?? body.maintainer_note ?? '');
  if (note.length > 1024) {
    return sendMessage(response, 400, { maintenance_note: ['is too long (maximum is 1024 characters)'] });
  }
  const runner = core.addRunner({
    tokenKind: 'registered',
    description: typeof body.description === 'string' ? body.description : '',
    maintenanceNote: note,
    tags: parseTagList(body.tag_list),
    runUntagged: typeof body.run_untagged === 'boolean' ? body.run_untagged : true,
    locked: typeof body.locked === 'boolean' ? body.locked : true,
    accessLevel: body.access_level === 'ref_protected' ? 'ref_protected' : 'not_protected',
    maximumTimeout: typeof body.maximum_timeout === 'number' ? body.maximum_timeout : null,
    paused: typeof body.paused === 'boolean' ? body.paused : body.active === false,
  });
  sendJson(response, 201, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

export function parseTagList(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value.map(String) : [];
  return list.map((tag) => tag.trim()).filter((tag) => tag !== '');
}

// POST /api/v4/runners/verify (api-spec §3.3)
export function verify(core: CoordinatorCore, body: unknown, response: ServerResponse) {
  const token = bodyToken(body);
  if (!token || !isObject(body)) return sendJson(response, 400, { error: 'token is missing' });
  const runner = core.store.findRunnerByToken(token);
  if (!runner) return sendMessage(response, 403, '403 Forbidden');
  heartbeat(core, runner, body);
  sendJson(response, 200, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

// DELETE /api/v4/runners (api-spec §3.4)
export function unregister(core: CoordinatorCore, body: unknown, response: ServerResponse) {
  const token = bodyToken(body);
  if (!token) return sendJson(response, 400, { error: 'token is missing' });
  const runner = core.store.findRunnerByToken(token);
  if (!runner) return sendMessage(response, 403, '403 Forbidden');
  core.store.runners.delete(runner.id);
  core.store.changed();
  sendEmpty(response, 204);
}

// DELETE /api/v4/runners/managers (api-spec §3.5)
export function unregisterManager(core: CoordinatorCore, body: unknown, response: ServerResponse) {
  const token = bodyToken(body);
  if (!token || !isObject(body)) return sendJson(response, 400, { error: 'token is missing' });
  if (typeof body.system_id !== 'string' || body.system_id === '') {
    return sendJson(response, 400, { error: 'system_id is missing' });
  }
  const runner = core.store.findRunnerByToken(token);
  if (!runner) return sendMessage(response, 403, '403 Forbidden');
  if (!runner.managers[body.system_id]) return sendMessage(response, 404, '404 Runner manager not found Not Found');
  delete runner.managers[body.system_id];
  core.store.changed();
  sendEmpty(response, 204);
}

function rotate(core: CoordinatorCore, runner: RunnerRecord, response: ServerResponse) {
  runner.token = isCreatedRunnerToken(runner.token) ? newCreatedRunnerToken() : newRegisteredRunnerToken();
  runner.tokenExpiresAt = core.tokenExpiry(runner.tokenExpiresAt !== null);
  core.store.changed();
  sendJson(response, 201, { token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

// POST /api/v4/runners/reset_authentication_token (api-spec §3.6)
export function resetToken(core: CoordinatorCore, body: unknown, response: ServerResponse) {
  const token = bodyToken(body);
  if (!token) return sendJson(response, 400, { error: 'token is missing' });
  const runner = core.store.findRunnerByToken(token);
  if (!runner) return sendMessage(response, 403, '403 Forbidden');
  rotate(core, runner, response);
}

// POST /api/v4/runners/:id/reset_authentication_token with PRIVATE-TOKEN
export function resetTokenById(
  core: CoordinatorCore,
  request: IncomingMessage,
  runnerId: number,
  response: ServerResponse,
) {
  if (header(request, 'private-token') !== core.personalAccessToken) {
    return sendMessage(response, 401, '401 Unauthorized');
  }
  const runner = core.store.runners.get(runnerId);
  if (!runner) return sendMessage(response, 404, '404 Runner Not Found');
  rotate(core, runner, response);
}

// POST /api/v4/jobs/request — Rails part (api-spec §4.2); long polling sits in front of it (core).
export function requestJob(
  core: CoordinatorCore,
  body: unknown,
  response: ServerResponse,
  extraHeaders: Record<string, string>,
) {
  const token = bodyToken(body);
  if (!token || !isObject(body)) return sendJson(response, 400, { error: 'token is missing' }, extraHeaders);
  const runner = core.store.findRunnerByToken(token);
  if (!runner) return sendMessage(response, 403, '403 Forbidden', extraHeaders);
  const systemId = heartbeat(core, runner, body);
  const queue = { ...extraHeaders, 'X-GitLab-Last-Update': runner.queueValue };
  if (runner.paused) return sendEmpty(response, 204, queue);
  if (typeof body.last_update === 'string' && body.last_update === runner.queueValue) {
    return sendEmpty(response, 204, queue);
  }
  const job = core.pickJob(runner, systemId);
  if (!job) return sendEmpty(response, 204, queue);
  const text = core.assignJob(job, runner, systemId);
  response.writeHead(201, {
    ...extraHeaders,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

const PROCESSING: readonly JobStatus[] = ['running', 'canceling'];

/** Whether job-token calls may touch the job: running, canceling, or handed out and awaiting acknowledgement. */
function isProcessing(job: JobRecord): boolean {
  return PROCESSING.includes(job.status) || (job.status === 'pending' && job.runnerId !== null);
}

/**
 * Job authentication shared by update, trace and artifact upload (api-spec §6.2). Sends the error answer and
 * returns `undefined` when the call may not proceed.
 */
export function authenticateJob(
  core: CoordinatorCore,
  jobId: number,
  token: string | undefined,
  response: ServerResponse,
): JobRecord | undefined {
  const job = core.store.jobs.get(jobId);
  if (!job || !token || job.token !== token) {
    sendMessage(response, 403, '403 Forbidden');
    return undefined;
  }
  if (!isProcessing(job)) {
    sendMessage(response, 403, '403 Forbidden - Job is not processing on runner', { 'Job-Status': job.status });
    return undefined;
  }
  return job;
}

export function jobToken(request: IncomingMessage, query: URLSearchParams, body?: unknown): string | undefined {
  return header(request, 'job-token') ?? query.get('token') ?? (isObject(body) ? bodyToken(body) : undefined);
}

/** GitLab's final-update back-off: 1 s under 4 s, then 2^(floor(log2(elapsed)) − 1), at most 64 s. */
export function finalUpdateBackoff(elapsedSeconds: number): number {
  if (elapsedSeconds < 4) return 1;
  return Math.min(64, 2 ** (Math.floor(Math.log2(elapsedSeconds)) - 1));
}

// PUT /api/v4/jobs/:id (api-spec §6.2, §4.5)
export function updateJob(
  core: CoordinatorCore,
  request: IncomingMessage,
  query: URLSearchParams,
  jobId: number,
  body: unknown,
  response: ServerResponse,
) {
  if (!bodyToken(body) || !isObject(body)) return sendJson(response, 400, { error: 'token is missing' });
  const job = authenticateJob(core, jobId, jobToken(request, query, body), response);
  if (!job) return;
  const runner = job.runnerId === null ? undefined : core.store.runners.get(job.runnerId);
  if (runner) runner.contactedAt = core.now();
  const state = body.state;
  const reply = (status: number) => sendText(response, status, String(status), { 'Job-Status': job.status });

  if (!job.acknowledged) {
    // Two-phase commit: the job waits for the runner's acknowledgement.
    if (state === 'running') {
      core.setStatus(job, 'running');
      job.acknowledged = true;
      return reply(200);
    }
    if (state === 'pending') return reply(200);
    return sendText(response, 400, '400');
  }
  if (state === 'pending') return sendText(response, 409, '409');
  if (state === 'running') {
    job.updatedAt = core.now();
    return reply(200);
  }
  if (state !== 'success' && state !== 'failed') return sendText(response, 400, '400');

  const output = isObject(body.output) ? body.output : {};
  const checksum = typeof output.checksum === 'string' ? output.checksum : body.checksum;
  if (typeof checksum === 'string' && checksum !== '') {
    const bytesize = typeof output.bytesize === 'number' ? output.bytesize : 0;
    const incomplete = bytesize > core.store.trace(job.id).size;
    const injected = core.faults.take('final-update-accepted', 'job-update', job.id) !== undefined;
    const nowMs = core.clock();
    const since = job.finalUpdateSince ?? nowMs;
    const gaveUp = nowMs - since >= core.options.finalUpdateGiveUpSeconds * 1000;
    if ((incomplete || injected) && !gaveUp) {
      job.finalUpdateSince = since;
      const interval = finalUpdateBackoff((nowMs - since) / 1000);
      return sendText(response, 202, '202', {
        'Job-Status': job.status,
        'X-GitLab-Trace-Update-Interval': String(interval),
      });
    }
  }
  if (job.status === 'canceling') {
    core.setStatus(job, 'canceled');
  } else if (state === 'success') {
    core.setStatus(job, 'success');
  } else {
    const reason = typeof body.failure_reason === 'string' ? body.failure_reason : '';
    job.failureReason = (GITLAB_FAILURE_REASONS as readonly string[]).includes(reason) ? reason : 'unknown_failure';
    job.exitCode = typeof body.exit_code === 'number' ? body.exit_code : null;
    core.setStatus(job, 'failed');
  }
  reply(200);
}

// PATCH /api/v4/jobs/:id/trace (api-spec §7.2)
export function appendTrace(
  core: CoordinatorCore,
  request: IncomingMessage,
  query: URLSearchParams,
  jobId: number,
  body: Buffer,
  response: ServerResponse,
) {
  const job = authenticateJob(core, jobId, jobToken(request, query), response);
  if (!job) return;
  const contentRange = header(request, 'content-range');
  if (contentRange === undefined) return sendMessage(response, 400, '400 Missing header Content-Range');
  const start = Number.parseInt(contentRange.split('-')[0] ?? '', 10) || 0;
  const trace = core.store.trace(job.id);
  if (start + body.length > core.traceSizeLimit) {
    job.failureReason = 'trace_size_exceeded';
    core.setStatus(job, 'failed');
    return sendMessage(response, 403, '403 Forbidden - Trace size exceeded', { 'Job-Status': job.status });
  }
  if (start !== trace.size) {
    return sendMessage(response, 416, '416 Range Not Satisfiable', { Range: `0-${trace.size}` });
  }
  trace.append(maskSecrets(body, [job.token, core.registrationToken]));
  job.updatedAt = core.now();
  if (core.faults.take('drop-trace-answer', 'trace', job.id)) {
    request.socket.destroy();
    return;
  }
  sendEmpty(response, 202, {
    'Job-Status': job.status,
    Range: `0-${trace.size}`,
    'X-GitLab-Trace-Update-Interval': String(core.traceUpdateInterval),
  });
}
