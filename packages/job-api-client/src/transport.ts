import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { JobApiError } from './errors.js';
import { redact } from './mask.js';

/** Time source and sleeper, injectable so tests need not wait for real back-off. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

function abortError(signal: AbortSignal | undefined): JobApiError {
  return new JobApiError('JOB_API_ABORTED', 'the operation was aborted', { cause: signal?.reason });
}

/** TLS material: contents (PEM) or paths the caller names explicitly (config's tls-ca-file, …). */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

export interface RetryOptions {
  /** Attempts in total, including the first (spec §2.3: 5). */
  maxAttempts?: number;
  /** First exponential back-off step (100 ms). */
  baseDelayMs?: number;
  /** Back-off cap (60 s). */
  maxDelayMs?: number;
}

/** Events the package emits instead of logging. Never carries a token. */
export type JobApiEvent =
  | {
      type: 'request-end';
      method: string;
      path: string;
      status: number;
      requestId: string;
      correlationId: string;
      durationMs: number;
    }
  | { type: 'request-error'; method: string; path: string; requestId: string; message: string }
  | {
      type: 'request-retry';
      method: string;
      path: string;
      status: number;
      attempt: number;
      delayMs: number;
      requestId: string;
    }
  | { type: 'warning'; message: string }
  | { type: 'job-cancel-requested'; jobId: number }
  | { type: 'job-aborted'; jobId: number; reason: string }
  | { type: 'trace-sent'; jobId: number; start: number; length: number }
  | { type: 'trace-range-mismatch'; jobId: number; sentOffset: number; serverOffset: number }
  | { type: 'update-interval-changed'; jobId: number; intervalMs: number }
  | { type: 'final-update-attempt'; jobId: number; attempt: number; outcome: string };

export interface TransportOptions {
  url: string;
  dispatcher?: Dispatcher;
  tls?: TlsOptions;
  /** Idle connections older than this are closed (config.toml connection_max_age; default 15 min). 0 = never. */
  connectionMaxAgeMs?: number;
  userAgent: string;
  retry?: RetryOptions;
  clock?: Clock;
  requestId?: () => string;
  onEvent?: (event: JobApiEvent) => void;
  /** Response-header timeout (10 min: must stay above the long-polling window). */
  headersTimeoutMs?: number;
  /** Idle time allowed between body bytes. */
  bodyTimeoutMs?: number;
  /** Also called with every `X-GitLab-Last-Update` seen, with the request's runner token. */
  onLastUpdate?: (runnerToken: string, value: string) => void;
}

export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the API root (`jobs/request`) or an absolute URL (redirect targets). */
  path: string | URL;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** JSON value to send; regenerated (re-serialised) for each attempt. */
  json?: unknown;
  /** Raw body; a function is called again for every attempt (streams must be re-creatable). */
  body?: () => string | Buffer | Uint8Array | Readable | null;
  /** Sets `Accept: application/json` (only calls that decode a JSON answer). */
  acceptJson?: boolean;
  signal?: AbortSignal | undefined;
  /** Values to mask in anything shown (tokens of this call). */
  secrets?: (string | undefined)[];
  /** Runner token this call acts for: `X-GitLab-Last-Update` answers are stored for it. */
  runnerToken?: string | undefined;
  /** Disable the transport retry loop (default enabled). */
  retry?: boolean;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string>;
  body: Dispatcher.ResponseData['body'];
  requestId: string;
  /** The server's `X-Request-Id` when it sent one, else ours. */
  correlationId: string;
  url: URL;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Spec §2.3: 408, 429, 500, 502, 503, 504 and everything ≥ 512. */
export function isRetryableStatus(status: number): boolean {
  return RETRY_STATUSES.has(status) || status >= 512;
}

/** Wait before the next transport attempt: RateLimit-ResetTime, then Retry-After, then backoff with jitter. */
export function retryDelayMs(
  headers: Record<string, string>,
  attempt: number,
  now: number,
  options: { baseDelayMs: number; maxDelayMs: number; random?: () => number },
): number {
  const reset = headers['ratelimit-resettime'];
  if (reset) {
    const at = Date.parse(reset);
    if (Number.isFinite(at) && at > now) return at - now;
  }
  const retryAfter = headers['retry-after'];
  if (retryAfter && /^\d+$/.test(retryAfter.trim())) {
    const seconds = Number.parseInt(retryAfter, 10);
    if (seconds > 0) return seconds * 1000;
  }
  return backoffDelay(attempt, options.baseDelayMs, options.maxDelayMs, options.random);
}

/** Exponential back-off with jitter: min, doubling, capped; jitter picks uniformly between min and the step. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random) {
  const step = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  if (step <= minMs) return step;
  return Math.round(minMs + random() * (step - minMs));
}

/** Spec §0.1: strip trailing slashes and one `/ci`, append `/api/v4/`. */
export function apiRoot(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new JobApiError('JOB_API_CLIENT_ERROR', `invalid GitLab URL: ${redact(url)}`, { cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new JobApiError('JOB_API_CLIENT_ERROR', `unsupported URL scheme ${parsed.protocol} (only http and https)`);
  }
  let path = parsed.pathname.replace(/\/+$/, '');
  if (path.endsWith('/ci')) path = path.slice(0, -3);
  path = path.replace(/\/+$/, '');
  parsed.pathname = `${path}/api/v4/`;
  parsed.search = '';
  parsed.hash = '';
  return parsed;
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function readTls(tls: TlsOptions | undefined): { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string } {
  if (!tls) return {};
  const load = (content: string | Buffer | undefined, file: string | undefined, what: string) => {
    if (content !== undefined) return content;
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new JobApiError('JOB_API_CLIENT_ERROR', `cannot read ${what} file ${file}`, { cause: error });
    }
  };
  const out: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string } = {};
  const ca = load(tls.ca, tls.caFile, 'tls-ca');
  const cert = load(tls.cert, tls.certFile, 'tls-cert');
  const key = load(tls.key, tls.keyFile, 'tls-key');
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if ((out.cert === undefined) !== (out.key === undefined)) {
    throw new JobApiError('JOB_API_CLIENT_ERROR', 'tls-cert-file and tls-key-file must be given together');
  }
  return out;
}

/**
 * The HTTP layer every endpoint goes through: base URL, common headers, the transport retry loop of spec §2.3,
 * `X-GitLab-Last-Update` capture, and a connection pool recycled after `connectionMaxAgeMs`.
 */
export class Transport {
  readonly root: URL;
  readonly clock: Clock;
  private readonly options: TransportOptions;
  private readonly ownsDispatcher: boolean;
  private dispatcher: Dispatcher | undefined;
  private dispatcherBorn = 0;
  private readonly agentOptions: Agent.Options | undefined;
  private readonly retired = new Set<Promise<void>>();
  private closed = false;

  constructor(options: TransportOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.root = apiRoot(options.url);
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.ownsDispatcher = true;
      const tls = readTls(options.tls);
      this.agentOptions = {
        connect: {
          timeout: 30_000,
          keepAlive: true,
          keepAliveInitialDelay: 30_000,
          minVersion: 'TLSv1.2',
          ...tls,
          ...(options.tls?.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
        },
        keepAliveTimeout: 90_000,
        keepAliveMaxTimeout: 90_000,
        headersTimeout: options.headersTimeoutMs ?? 600_000,
        bodyTimeout: options.bodyTimeoutMs ?? 600_000,
      };
    }
  }

  emit(event: JobApiEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A throwing listener must not break the client.
    }
  }

  newRequestId(): string {
    return this.options.requestId?.() ?? randomUUID().replace(/-/g, '');
  }

  /** The dispatcher for the next request; an owned pool older than connection_max_age is retired gracefully. */
  private currentDispatcher(): Dispatcher {
    if (this.closed) throw new JobApiError('JOB_API_CLIENT_ERROR', 'the client was closed');
    if (!this.ownsDispatcher) return this.dispatcher as Dispatcher;
    const maxAge = this.options.connectionMaxAgeMs ?? 15 * 60_000;
    const now = this.clock.now();
    if (this.dispatcher && maxAge > 0 && now - this.dispatcherBorn >= maxAge) {
      const old = this.dispatcher;
      this.dispatcher = undefined;
      const closing = old.close().catch(() => undefined);
      this.retired.add(closing);
      void closing.then(() => this.retired.delete(closing));
    }
    if (!this.dispatcher) {
      this.dispatcher = new Agent(this.agentOptions);
      this.dispatcherBorn = now;
    }
    return this.dispatcher;
  }

  resolve(path: string | URL, query?: Record<string, string>): URL {
    const url = typeof path === 'string' ? new URL(path, this.root) : new URL(path.toString());
    if (query) for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  /**
   * Sends one logical call with the transport retry loop. Resolves with the last answer (whatever its status);
   * rejects with JOB_API_NETWORK_ERROR ("no answer"), JOB_API_ABORTED or JOB_API_CLIENT_ERROR.
   */
  async send(request: TransportRequest): Promise<TransportResponse> {
    const url = this.resolve(request.path, request.query);
    const displayPath = url.pathname;
    const requestId = this.newRequestId();
    const retry = this.options.retry ?? {};
    const maxAttempts = request.retry === false ? 1 : (retry.maxAttempts ?? 5);
    const secrets = request.secrets ?? [];
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      'x-request-id': requestId,
      ...(request.acceptJson ? { accept: 'application/json' } : {}),
      ...(request.json !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;

    for (let attempt = 1; ; attempt++) {
      if (request.signal?.aborted) throw abortError(request.signal);
      const body = request.json !== undefined ? JSON.stringify(request.json) : (request.body?.() ?? null);
      const started = this.clock.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await this.currentDispatcher().request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: request.method,
          headers,
          body,
          signal: request.signal ?? null,
        });
      } catch (error) {
        if (JobApiError.isInstance(error)) throw error;
        if (request.signal?.aborted) throw abortError(request.signal);
        const message = redact(error instanceof Error ? error.message : String(error), secrets);
        this.emit({ type: 'request-error', method: request.method, path: displayPath, requestId, message });
        throw new JobApiError('JOB_API_NETWORK_ERROR', `[${request.method}] ${displayPath}: ${message}`, {
          cause: error,
          method: request.method,
          path: displayPath,
          retryable: true,
        });
      }
      const responseHeaders = flattenHeaders(response.headers);
      const lastUpdate = responseHeaders['x-gitlab-last-update'];
      if (lastUpdate && request.runnerToken) this.options.onLastUpdate?.(request.runnerToken, lastUpdate);
      const correlationId = responseHeaders['x-request-id'] || requestId;
      this.emit({
        type: 'request-end',
        method: request.method,
        path: displayPath,
        status: response.statusCode,
        requestId,
        correlationId,
        durationMs: this.clock.now() - started,
      });
      if (attempt < maxAttempts && isRetryableStatus(response.statusCode)) {
        await response.body.dump().catch(() => undefined);
        const delayMs = retryDelayMs(responseHeaders, attempt, this.clock.now(), {
          baseDelayMs: retry.baseDelayMs ?? 100,
          maxDelayMs: retry.maxDelayMs ?? 60_000,
        });
        this.emit({
          type: 'request-retry',
          method: request.method,
          path: displayPath,
          status: response.statusCode,
          attempt,
          delayMs,
          requestId,
        });
        await this.clock.sleep(delayMs, request.signal);
        continue;
      }
      return {
        status: response.statusCode,
        headers: responseHeaders,
        body: response.body,
        requestId,
        correlationId,
        url,
      };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher && this.dispatcher) await this.dispatcher.close().catch(() => undefined);
    await Promise.all([...this.retired]);
  }
}
