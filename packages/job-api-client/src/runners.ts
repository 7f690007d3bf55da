import type { RegisterRunnerRequest, UnregisterRunnerRequest, VerifyRunnerRequest } from '@runnerkit/job-spec';
import { JobApiError } from './errors.js';
import { maskToken } from './mask.js';
import { isJsonContentType, readJson, readText, statusError } from './response.js';
import { type RunnerInfo, registrationInfo } from './runner-info.js';
import type { Transport, TransportResponse } from './transport.js';

/** A token is a created-runner (UI) token iff it starts with `glrt-` (`glrtr-` does not count). */
export function isCreatedRunnerToken(token: string): boolean {
  return token.startsWith('glrt-');
}

export interface RunnerCredentials {
  id: number;
  token: string;
  /** ISO time or null when the token does not expire. */
  tokenExpiresAt: string | null;
  /** Now, UTC, whole seconds (ISO). */
  tokenObtainedAt: string;
}

export interface RegisterOptions {
  /** Registration token (legacy flow) or a `glrt-` runner authentication token (created-runner flow). */
  token: string;
  systemId?: string;
  description?: string;
  maintenanceNote?: string;
  tagList?: string[];
  runUntagged?: boolean;
  locked?: boolean;
  accessLevel?: 'not_protected' | 'ref_protected' | (string & {});
  maximumTimeout?: number;
  paused?: boolean;
  /**
   * With a `glrt-` token, server-side settings are owned by GitLab: by default giving any is an error; with this
   * flag (the token came through the legacy --registration-token option) they are ignored with a warning event.
   */
  ignoreServerSideSettings?: boolean;
  signal?: AbortSignal;
}

export interface VerifyResult {
  /** Runner id, when the server sent one (old GitLab answers plain text `200` without it). */
  id: number | undefined;
  token: string;
  tokenExpiresAt: string | null;
}

function nowSeconds(now: number): string {
  return new Date(Math.floor(now / 1000) * 1000).toISOString();
}

function readCredentialsBody(value: unknown, method: string, path: string) {
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const id = record.id;
  const token = record.token;
  const expires = record.token_expires_at;
  if (id !== undefined && id !== null && (typeof id !== 'number' || !Number.isSafeInteger(id))) {
    throw new JobApiError('JOB_API_BAD_RESPONSE', `[${method}] ${path}: id is not a safe integer`, { method, path });
  }
  if (token !== undefined && token !== null && typeof token !== 'string') {
    throw new JobApiError('JOB_API_BAD_RESPONSE', `[${method}] ${path}: token is not a string`, { method, path });
  }
  if (expires !== undefined && expires !== null && typeof expires !== 'string') {
    throw new JobApiError('JOB_API_BAD_RESPONSE', `[${method}] ${path}: token_expires_at is not a string`, {
      method,
      path,
    });
  }
  return {
    id: typeof id === 'number' ? id : undefined,
    token: typeof token === 'string' ? token : undefined,
    tokenExpiresAt: typeof expires === 'string' ? expires : null,
  };
}

export class RunnerEndpoints {
  constructor(
    private readonly transport: Transport,
    private readonly info: RunnerInfo,
  ) {}

  /**
   * `register` as GitLab Runner does it: a `glrt-` token → verify (created-runner flow, §3.3); anything else →
   * `POST /api/v4/runners` (legacy registration, §3.2).
   */
  async register(options: RegisterOptions): Promise<RunnerCredentials> {
    if (isCreatedRunnerToken(options.token)) {
      const serverSide = (
        [
          ['tag-list', options.tagList !== undefined && options.tagList.length > 0],
          ['locked', options.locked !== undefined],
          ['run-untagged', options.runUntagged !== undefined],
          ['access-level', options.accessLevel !== undefined],
          ['maximum-timeout', options.maximumTimeout !== undefined],
          ['paused', options.paused !== undefined],
          ['maintenance-note', options.maintenanceNote !== undefined],
        ] as const
      )
        .filter(([, given]) => given)
        .map(([name]) => name);
      if (serverSide.length > 0) {
        const message = `runner settings ${serverSide.map((n) => `--${n}`).join(', ')} are owned by GitLab for runners created in the UI (${maskToken(options.token)}); set them there`;
        if (!options.ignoreServerSideSettings) {
          throw new JobApiError('JOB_API_CREATED_RUNNER_SETTINGS', message);
        }
        this.transport.emit({ type: 'warning', message: `${message}; ignored` });
      }
      const verified = await this.verify({
        token: options.token,
        ...(options.systemId ? { systemId: options.systemId } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (verified.id === undefined || verified.id <= 0) {
        throw new JobApiError(
          'JOB_API_VERIFY_NO_ID',
          `Failed to verify the runner: the server returned no runner id for ${maskToken(options.token)}`,
        );
      }
      return {
        id: verified.id,
        token: verified.token,
        tokenExpiresAt: verified.tokenExpiresAt,
        tokenObtainedAt: nowSeconds(this.transport.clock.now()),
      };
    }

    const body: Omit<RegisterRunnerRequest, 'token'> & { token?: string } = {};
    if (options.description) body.description = options.description;
    if (options.maintenanceNote) body.maintenance_note = options.maintenanceNote;
    if (options.tagList && options.tagList.length > 0) body.tag_list = options.tagList.join(',');
    body.run_untagged = options.runUntagged ?? !(options.tagList && options.tagList.length > 0);
    body.locked = options.locked ?? true;
    if (options.accessLevel) body.access_level = options.accessLevel;
    if (options.maximumTimeout) body.maximum_timeout = options.maximumTimeout;
    body.paused = options.paused ?? false;
    body.info = registrationInfo(this.info);
    body.token = options.token;
    const response = await this.transport.send({
      method: 'POST',
      path: 'runners',
      headers: { 'runner-token': options.token },
      json: body,
      acceptJson: true,
      signal: options.signal,
      secrets: [options.token],
    });
    if (response.status === 201) {
      const decoded = readCredentialsBody(await readJson(response, 'POST'), 'POST', response.url.pathname);
      if (decoded.id === undefined || decoded.token === undefined) {
        throw new JobApiError('JOB_API_BAD_RESPONSE', `[POST] ${response.url.pathname}: 201 without id or token`, {
          method: 'POST',
          path: response.url.pathname,
          status: 201,
        });
      }
      return {
        id: decoded.id,
        token: decoded.token,
        tokenExpiresAt: decoded.tokenExpiresAt,
        tokenObtainedAt: nowSeconds(this.transport.clock.now()),
      };
    }
    throw await this.registrationError(response, options.token);
  }

  private async registrationError(response: TransportResponse, token: string): Promise<JobApiError> {
    const secrets = [token];
    switch (response.status) {
      case 403:
        return statusError(response, 'POST', 'JOB_API_FORBIDDEN', secrets, 'check registration token');
      case 410:
        return statusError(
          response,
          'POST',
          'JOB_API_REGISTRATION_DISALLOWED',
          secrets,
          'registration tokens are disabled on this GitLab; create the runner in the UI and use its glrt- token',
        );
      case 400:
        return statusError(response, 'POST', 'JOB_API_VALIDATION_FAILED', secrets);
      default:
        return statusError(response, 'POST', 'JOB_API_UNEXPECTED_STATUS', secrets);
    }
  }

  /** `POST /api/v4/runners/verify` (spec §3.3). 403 → JOB_API_FORBIDDEN ("is not valid" / "is removed"). */
  async verify(options: { token: string; systemId?: string; signal?: AbortSignal }): Promise<VerifyResult> {
    const body: VerifyRunnerRequest = { token: options.token };
    if (options.systemId) body.system_id = options.systemId;
    body.info = this.info;
    const response = await this.transport.send({
      method: 'POST',
      path: 'runners/verify',
      headers: { 'runner-token': options.token },
      json: body,
      acceptJson: true,
      signal: options.signal,
      secrets: [options.token],
      runnerToken: options.token,
    });
    if (response.status === 200) {
      // Old GitLab answers `200` as text: alive, but without id or expiry.
      if (!isJsonContentType(response.headers['content-type'])) {
        await readText(response);
        return { id: undefined, token: options.token, tokenExpiresAt: null };
      }
      const decoded = readCredentialsBody(await readJson(response, 'POST'), 'POST', response.url.pathname);
      return { id: decoded.id, token: decoded.token ?? options.token, tokenExpiresAt: decoded.tokenExpiresAt };
    }
    const secrets = [options.token];
    if (response.status === 403) {
      const what = isCreatedRunnerToken(options.token) ? 'is not valid' : 'is removed';
      return Promise.reject(
        await statusError(response, 'POST', 'JOB_API_FORBIDDEN', secrets, `runner ${maskToken(options.token)} ${what}`),
      );
    }
    if (response.status === 422) {
      return Promise.reject(
        await statusError(response, 'POST', 'JOB_API_RUNNER_ORPHANED', secrets, 'Runner is orphaned'),
      );
    }
    return Promise.reject(await statusError(response, 'POST', 'JOB_API_UNEXPECTED_STATUS', secrets));
  }

  /**
   * Unregisters as GitLab Runner does: a `glrt-` token removes only this machine's runner manager
   * (`DELETE /runners/managers`, needs `systemId`); any other token deletes the runner (`DELETE /runners`).
   */
  async unregister(options: { token: string; systemId?: string; signal?: AbortSignal }): Promise<void> {
    if (isCreatedRunnerToken(options.token)) {
      await this.unregisterManager({ ...options, systemId: options.systemId ?? '' });
      return;
    }
    await this.unregisterRunner(options);
  }

  /** `DELETE /api/v4/runners` (spec §3.4): 204 or an error. */
  async unregisterRunner(options: { token: string; signal?: AbortSignal }): Promise<void> {
    const response = await this.transport.send({
      method: 'DELETE',
      path: 'runners',
      headers: { 'runner-token': options.token },
      json: { token: options.token } satisfies UnregisterRunnerRequest,
      signal: options.signal,
      secrets: [options.token],
    });
    await this.expectNoContent(response, options.token);
  }

  /** `DELETE /api/v4/runners/managers` (spec §3.5). */
  async unregisterManager(options: { token: string; systemId: string; signal?: AbortSignal }): Promise<void> {
    const response = await this.transport.send({
      method: 'DELETE',
      path: 'runners/managers',
      headers: { 'runner-token': options.token },
      json: { token: options.token, system_id: options.systemId } satisfies UnregisterRunnerRequest,
      signal: options.signal,
      secrets: [options.token],
    });
    await this.expectNoContent(response, options.token);
  }

  private async expectNoContent(response: TransportResponse, token: string): Promise<void> {
    if (response.status === 204 || response.status === 200) {
      await response.body.dump().catch(() => undefined);
      return;
    }
    const code =
      response.status === 403
        ? 'JOB_API_FORBIDDEN'
        : response.status === 404
          ? 'JOB_API_NOT_FOUND'
          : response.status === 400
            ? 'JOB_API_VALIDATION_FAILED'
            : 'JOB_API_UNEXPECTED_STATUS';
    throw await statusError(response, 'DELETE', code, [token]);
  }

  /** `POST /api/v4/runners/reset_authentication_token` with the current token (spec §3.6). */
  async resetToken(options: { token: string; signal?: AbortSignal }): Promise<Omit<RunnerCredentials, 'id'>> {
    const response = await this.transport.send({
      method: 'POST',
      path: 'runners/reset_authentication_token',
      json: { token: options.token },
      acceptJson: true,
      signal: options.signal,
      secrets: [options.token],
    });
    return this.readReset(response, [options.token]);
  }

  /** `POST /api/v4/runners/:id/reset_authentication_token` with a personal access token (spec §3.6). */
  async resetTokenWithPersonalAccessToken(options: {
    runnerId: number;
    personalAccessToken: string;
    signal?: AbortSignal;
  }): Promise<Omit<RunnerCredentials, 'id'>> {
    const response = await this.transport.send({
      method: 'POST',
      path: `runners/${options.runnerId}/reset_authentication_token`,
      headers: { 'private-token': options.personalAccessToken },
      acceptJson: true,
      signal: options.signal,
      secrets: [options.personalAccessToken],
    });
    return this.readReset(response, [options.personalAccessToken]);
  }

  private async readReset(response: TransportResponse, secrets: string[]): Promise<Omit<RunnerCredentials, 'id'>> {
    if (response.status === 201 || response.status === 200) {
      const decoded = readCredentialsBody(await readJson(response, 'POST'), 'POST', response.url.pathname);
      if (!decoded.token) {
        throw new JobApiError('JOB_API_BAD_RESPONSE', `[POST] ${response.url.pathname}: no token in the answer`, {
          method: 'POST',
          path: response.url.pathname,
          status: response.status,
        });
      }
      return {
        token: decoded.token,
        tokenExpiresAt: decoded.tokenExpiresAt,
        tokenObtainedAt: nowSeconds(this.transport.clock.now()),
      };
    }
    const code = response.status === 403 ? 'JOB_API_FORBIDDEN' : 'JOB_API_UNEXPECTED_STATUS';
    throw await statusError(response, 'POST', code, secrets, response.status === 403 ? 'check used token' : undefined);
  }
}

/**
 * GitLab Runner rotates a token once 75 % of the time from `tokenObtainedAt` to `tokenExpiresAt` has passed
 * (spec §3.6). False when the token does not expire.
 */
export function tokenRotationDue(
  credentials: { tokenObtainedAt?: string | null; tokenExpiresAt?: string | null },
  now: number = Date.now(),
): boolean {
  if (!credentials.tokenExpiresAt) return false;
  const expires = Date.parse(credentials.tokenExpiresAt);
  if (!Number.isFinite(expires)) return false;
  const obtained = credentials.tokenObtainedAt ? Date.parse(credentials.tokenObtainedAt) : Number.NaN;
  if (!Number.isFinite(obtained)) return now >= expires;
  return now >= obtained + 0.75 * (expires - obtained);
}
