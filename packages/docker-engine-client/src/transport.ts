import { request as httpRequest, type IncomingMessage } from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import {
  AbortedError,
  ApiVersionError,
  BadParameterError,
  ClientClosedError,
  ConflictError,
  DaemonError,
  DaemonUnavailableError,
  DockerError,
  type DockerErrorDetails,
  ForbiddenError,
  ImageNotFoundError,
  InvalidOptionsError,
  NotFoundError,
  ProtocolError,
  TimeoutError,
  UnauthorizedError,
  UnexpectedStatusError,
} from './errors.js';

/** The newest Engine API version this client speaks (what dockerd 20.10 speaks). */
export const MAX_API_VERSION = '1.41';
/** The oldest Engine API version this client accepts (GitLab Runner's minimum). */
export const MIN_API_VERSION = '1.25';

/** TLS material, as contents (PEM strings or buffers) — the client never reads files. */
export interface DockerTlsOptions {
  ca?: string | Buffer | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Verify the daemon's certificate against `ca` (default true). */
  verify?: boolean | undefined;
  /** Server name to verify instead of the host (for daemons reached by IP whose certificate names a host). */
  servername?: string | undefined;
}

export interface DockerClientOptions {
  /**
   * `unix:///var/run/docker.sock` (default), `tcp://host:port`, `http://host:port` or `https://host:port`.
   * `tcp://` becomes HTTPS when `tls` is given. The caller resolves DOCKER_HOST & co.; the client reads no env.
   */
  host?: string | undefined;
  tls?: DockerTlsOptions | undefined;
  /** Pin the API version (e.g. `1.41`) and skip negotiation. */
  apiVersion?: string | undefined;
  /** Default per-call timeout in ms for short calls (default 60 000; 0 disables). Long calls have none by default. */
  timeout?: number | undefined;
  /**
   * Upper bound on pooled connections (default: unbounded). Long calls (wait, logs with follow, events, pull) each
   * hold a connection for their whole duration, so a small bound would queue every other call behind them; idle
   * connections are kept for `keepAliveTimeout` and reused.
   */
  connections?: number | undefined;
  /** How long an idle pooled connection is kept, ms (default 4 000). */
  keepAliveTimeout?: number | undefined;
  /** Connect timeout in ms (default 10 000). */
  connectTimeout?: number | undefined;
}

export type QueryValue = string | number | boolean | undefined | null | string[] | Record<string, unknown>;

export interface CallOptions {
  /** Timeout for this call in ms; 0 disables. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** What a 404 means for an endpoint. */
export type NotFoundKind = 'object' | 'image' | ((message: string) => 'object' | 'image');

export interface RequestSpec extends CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  path: string;
  query?: Record<string, QueryValue> | undefined;
  headers?: Record<string, string> | undefined;
  body?: string | Buffer | Readable | undefined;
  /** JSON body (sets content-type). */
  json?: unknown;
  /** Statuses that are success for this endpoint. */
  expect: readonly number[];
  notFound?: NotFoundKind | undefined;
  /** Calls that may legitimately take long (wait, pull, archive): no default timeout. */
  long?: boolean | undefined;
  /** Do not prefix the path with the API version. */
  unversioned?: boolean | undefined;
  /** The timeout ends once the headers arrived (the body is a stream the caller drains at its own pace). */
  streaming?: boolean | undefined;
}

export interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body with errors mapped to {@link DockerError}s; pull-based, so backpressure reaches the socket. */
  body: Readable;
  method: string;
  endpoint: string;
}

interface Endpoint {
  kind: 'unix' | 'tcp' | 'tls';
  socketPath?: string;
  hostname?: string;
  port?: number;
  origin: string;
}

function parseHost(host: string, tlsOptions: DockerTlsOptions | undefined): Endpoint {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath) throw new InvalidOptionsError(`host "${host}" names no socket path`);
    return { kind: 'unix', socketPath, origin: 'http://localhost' };
  }
  if (host.startsWith('/')) return { kind: 'unix', socketPath: host, origin: 'http://localhost' };
  let url: URL;
  try {
    url = new URL(host);
  } catch (cause) {
    throw new InvalidOptionsError(`host "${host}" is not a URL`, { cause });
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'tcp:' && tlsOptions !== undefined);
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol)) {
    throw new InvalidOptionsError(
      `host "${host}": unsupported scheme ${url.protocol} (use unix://, tcp://, http(s)://)`,
    );
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : secure ? 2376 : 2375;
  return {
    kind: secure ? 'tls' : 'tcp',
    hostname,
    port,
    origin: `${secure ? 'https' : 'http'}://${url.hostname}:${port}`,
  };
}

function encodeQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      // repeated parameter (`changes=…&changes=…`)
      for (const item of value) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
      continue;
    }
    let text: string;
    if (typeof value === 'boolean') text = value ? '1' : '0';
    else if (typeof value === 'object') text = JSON.stringify(value);
    else text = String(value);
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(text)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** min(server, ours); throws when the server is older than {@link MIN_API_VERSION}. */
export function negotiateVersion(server: string | undefined): string {
  if (!server || !/^\d+\.\d+$/.test(server)) return MAX_API_VERSION;
  if (compareVersions(server, MIN_API_VERSION) < 0) {
    throw new ApiVersionError(`the daemon speaks Engine API ${server}; this client needs at least ${MIN_API_VERSION}`);
  }
  return compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
}

export { compareVersions };

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTSOCK',
]);

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) return String((error as { code: unknown }).code);
  return '';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Maps a low-level failure (undici, net, tls, JSON) to a typed error. `answered`: headers were received. */
export function mapTransportError(error: unknown, details: DockerErrorDetails, answered: boolean): DockerError {
  if (DockerError.isInstance(error)) return error;
  const code = errorCode(error);
  const base = { ...details, cause: error };
  if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return new ClientClosedError('the client is closed', base);
  }
  if (CONNECT_CODES.has(code))
    return new DaemonUnavailableError(`cannot connect to the daemon: ${errorText(error)}`, base);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /certificate|tls|ssl/i.test(errorText(error))) {
    return new DaemonUnavailableError(`TLS connection refused: ${errorText(error)}`, base);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TimeoutError(`the daemon stopped answering: ${errorText(error)}`, base);
  }
  if (
    code.startsWith('HPE_') ||
    code === 'UND_ERR_INFO' ||
    error instanceof SyntaxError ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  ) {
    return new ProtocolError(`invalid answer from the daemon: ${errorText(error)}`, base);
  }
  if (answered) return new ProtocolError(`the answer was cut short: ${errorText(error)}`, base);
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') {
    return new DaemonUnavailableError(`the connection closed before the daemon answered: ${errorText(error)}`, base);
  }
  return new ProtocolError(`request failed: ${errorText(error)}`, base);
}

/** Builds the typed error for a non-success status from the daemon's `{"message": …}` body. */
export function statusError(
  statusCode: number,
  bodyText: string,
  details: DockerErrorDetails,
  notFound: NotFoundKind = 'object',
): DockerError {
  let daemonMessage = bodyText.trim();
  try {
    const parsed = JSON.parse(bodyText) as { message?: unknown };
    if (parsed && typeof parsed.message === 'string') daemonMessage = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  const full = { ...details, statusCode, daemonMessage };
  const message = `${statusCode} ${daemonMessage || '(empty answer)'}`;
  if (statusCode === 404) {
    const kind = typeof notFound === 'function' ? notFound(daemonMessage) : notFound;
    return kind === 'image' ? new ImageNotFoundError(message, full) : new NotFoundError(message, full);
  }
  if (statusCode === 409) return new ConflictError(message, full);
  if (statusCode === 400) return new BadParameterError(message, full);
  if (statusCode === 401) return new UnauthorizedError(message, full);
  if (statusCode === 403) return new ForbiddenError(message, full);
  if (statusCode >= 500) return new DaemonError(message, full);
  return new UnexpectedStatusError(message, full);
}

/** Wraps an undici body so that errors surface as DockerErrors; iteration keeps backpressure. */
function wrapBody(body: Readable, details: DockerErrorDetails, onEnd: () => void, signal: AbortSignal): Readable {
  async function* pump(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (error) {
      if (signal.aborted && DockerError.isInstance(signal.reason)) throw signal.reason;
      throw mapTransportError(error, details, true);
    } finally {
      onEnd();
    }
  }
  const out = Readable.from(pump(), { objectMode: false, highWaterMark: 64 * 1024 });
  out.once('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return out;
}

/** Collects a (wrapped) body as text, with an upper bound to keep a never-ending answer from eating memory. */
export async function readText(body: Readable, limit = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new ProtocolError(`answer larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class Transport {
  readonly endpoint: Endpoint;
  readonly dispatcher: Dispatcher;
  private readonly options: DockerClientOptions;
  private versionPromise: Promise<string> | undefined;

  constructor(options: DockerClientOptions = {}) {
    this.options = options;
    this.endpoint = parseHost(options.host ?? 'unix:///var/run/docker.sock', options.tls);
    const t = options.tls;
    this.dispatcher = new Pool(this.endpoint.origin, {
      connections: options.connections ?? null,
      keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      pipelining: 1,
      ...(this.endpoint.kind === 'unix' ? { socketPath: this.endpoint.socketPath } : {}),
      connect: {
        timeout: options.connectTimeout ?? 10_000,
        ...(this.endpoint.kind === 'tls'
          ? {
              ca: t?.ca,
              cert: t?.cert,
              key: t?.key,
              rejectUnauthorized: t?.verify ?? true,
              ...(t?.servername ? { servername: t.servername } : {}),
              // No TLS session resumption: servers that verify client certificates without a session id
              // context (OpenSSL-based fronts such as socat) abort a resumed handshake with "internal error".
              // The keep-alive pool already keeps handshakes rare.
              maxCachedSessions: 0,
            }
          : {}),
      },
    });
    if (options.apiVersion) this.versionPromise = Promise.resolve(options.apiVersion);
  }

  /** The API version in use (negotiated on first call unless pinned). */
  apiVersion(call: CallOptions = {}): Promise<string> {
    if (!this.versionPromise) {
      const attempt = this.negotiate(call);
      this.versionPromise = attempt;
      // a failed negotiation is retried by the next call
      attempt.catch(() => {
        if (this.versionPromise === attempt) this.versionPromise = undefined;
      });
    }
    return this.versionPromise;
  }

  private async negotiate(options: CallOptions): Promise<string> {
    const call: CallOptions = { timeout: options.timeout, signal: options.signal };
    const ping = await this.request({ method: 'GET', path: '/_ping', expect: [200], unversioned: true, ...call });
    await readText(ping.body, 1024);
    const header = ping.headers['api-version'];
    let server = Array.isArray(header) ? header[0] : header;
    if (!server) {
      const version = await this.request({
        method: 'GET',
        path: '/version',
        expect: [200],
        unversioned: true,
        ...call,
      });
      server = (JSON.parse(await readText(version.body)) as { ApiVersion?: string }).ApiVersion;
    }
    return negotiateVersion(server);
  }

  private timeoutFor(spec: CallOptions & { long?: boolean | undefined }): number {
    if (spec.timeout !== undefined) return spec.timeout;
    if (spec.long) return 0;
    return this.options.timeout ?? 60_000;
  }

  /** Sets up the abort controller that merges the caller's signal and the timeout into typed reasons. */
  private guard(spec: CallOptions & { long?: boolean | undefined }, details: DockerErrorDetails) {
    const controller = new AbortController();
    const timeout = this.timeoutFor(spec);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      controller.abort(new AbortedError('the call was aborted', { ...details, cause: spec.signal?.reason }));
    };
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout > 0) {
      timer = setTimeout(() => {
        controller.abort(new TimeoutError(`no complete answer within ${timeout} ms`, details));
      }, timeout);
      timer.unref?.();
    }
    return {
      signal: controller.signal,
      stopTimer: () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
      },
      release: () => {
        if (timer) clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  async path(spec: Pick<RequestSpec, 'path' | 'query' | 'unversioned'> & CallOptions): Promise<string> {
    const prefix = spec.unversioned ? '' : `/v${await this.apiVersion(spec)}`;
    return `${prefix}${spec.path}${encodeQuery(spec.query)}`;
  }

  /** Sends a request; resolves once headers arrived with a success status, else throws the typed error. */
  async request(spec: RequestSpec): Promise<RawResponse> {
    const fullPath = await this.path(spec);
    const endpoint = fullPath.split('?')[0] ?? fullPath;
    const details: DockerErrorDetails = { method: spec.method, endpoint };
    const guard = this.guard(spec, details);
    const headers: Record<string, string> = { ...spec.headers };
    let body = spec.body;
    if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['content-type'] = 'application/json';
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        origin: this.endpoint.origin,
        method: spec.method,
        path: fullPath,
        headers,
        body: body ?? null,
        signal: guard.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (error) {
      guard.release();
      if (guard.signal.aborted && DockerError.isInstance(guard.signal.reason)) throw guard.signal.reason;
      throw mapTransportError(error, details, false);
    }
    if (spec.streaming) guard.stopTimer();
    const wrapped = wrapBody(response.body, details, guard.release, guard.signal);
    if (!spec.expect.includes(response.statusCode)) {
      let text = '';
      try {
        text = await readText(wrapped, 1024 * 1024);
      } catch (error) {
        throw mapTransportError(error, { ...details, statusCode: response.statusCode }, true);
      }
      throw statusError(response.statusCode, text, details, spec.notFound);
    }
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      body: wrapped,
      method: spec.method,
      endpoint,
    };
  }

  /** A request whose JSON answer is returned (empty body → undefined). */
  async json<T>(spec: RequestSpec): Promise<T> {
    const response = await this.request(spec);
    const text = await readText(response.body);
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new ProtocolError(`answer is not JSON: ${text.slice(0, 200)}`, {
        method: response.method,
        endpoint: response.endpoint,
        statusCode: response.statusCode,
        cause,
      });
    }
  }

  /** A request whose body is discarded; returns the status. */
  async empty(spec: RequestSpec): Promise<number> {
    const response = await this.request(spec);
    await readText(response.body, 1024 * 1024);
    return response.statusCode;
  }

  /**
   * Sends a request that the daemon answers by hijacking the connection (attach, exec start).
   *
   * Why node:http/net and not undici: undici's `upgrade()` rejects any non-101 answer with a generic
   * `SocketError` and drops the body, so the daemon's message (`No such container: …`) would be lost, and the
   * socket it hands over comes out of its pool's bookkeeping. node:http gives both the 101 socket (with any bytes
   * that arrived with the headers) and ordinary responses, and we open the connection ourselves (unix, tcp or TLS)
   * so the hijacked socket never belongs to the keep-alive pool.
   */
  async hijack(spec: RequestSpec): Promise<{ socket: net.Socket; statusCode: number }> {
    const fullPath = await this.path(spec);
    const endpoint = fullPath.split('?')[0] ?? fullPath;
    const details: DockerErrorDetails = { method: spec.method, endpoint };
    const guard = this.guard(spec, details);
    const body = spec.json !== undefined ? JSON.stringify(spec.json) : undefined;
    const t = this.options.tls;
    const ep = this.endpoint;
    const createConnection = (): net.Socket => {
      if (ep.kind === 'unix') return net.connect({ path: ep.socketPath as string });
      if (ep.kind === 'tcp') return net.connect({ host: ep.hostname as string, port: ep.port as number });
      return tls.connect({
        host: ep.hostname as string,
        port: ep.port as number,
        ca: t?.ca,
        cert: t?.cert,
        key: t?.key,
        rejectUnauthorized: t?.verify ?? true,
        ...(t?.servername ? { servername: t.servername } : {}),
      });
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: DockerError | undefined, value?: { socket: net.Socket; statusCode: number }) => {
        if (settled) return;
        settled = true;
        guard.release();
        if (error) reject(error);
        else resolve(value as { socket: net.Socket; statusCode: number });
      };
      const req = httpRequest({
        method: spec.method,
        path: fullPath,
        host: ep.kind === 'unix' ? 'localhost' : ep.hostname,
        createConnection,
        headers: {
          ...spec.headers,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
          connection: 'Upgrade',
          upgrade: 'tcp',
        },
      });
      const onAbort = () => {
        req.destroy();
        finish(guard.signal.reason as DockerError);
      };
      if (guard.signal.aborted) {
        onAbort();
        return;
      }
      guard.signal.addEventListener('abort', onAbort, { once: true });
      req.on('upgrade', (res: IncomingMessage, socket: net.Socket, head: Buffer) => {
        guard.signal.removeEventListener('abort', onAbort);
        if (head.length > 0) socket.unshift(head);
        // From here the caller's signal still ends the session.
        if (spec.signal) {
          const abortSession = () =>
            socket.destroy(
              new AbortedError('the attached session was aborted', { ...details, cause: spec.signal?.reason }),
            );
          spec.signal.addEventListener('abort', abortSession, { once: true });
          socket.once('close', () => spec.signal?.removeEventListener('abort', abortSession));
        }
        finish(undefined, { socket, statusCode: res.statusCode ?? 101 });
      });
      req.on('response', (res: IncomingMessage) => {
        guard.signal.removeEventListener('abort', onAbort);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => finish(mapTransportError(error, details, true)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            finish(new ProtocolError(`the daemon answered ${status} without upgrading the connection`, details));
          } else {
            finish(statusError(status, text, details, spec.notFound));
          }
        });
      });
      req.on('error', (error) => {
        if (guard.signal.aborted) finish(guard.signal.reason as DockerError);
        else finish(mapTransportError(error, details, false));
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
