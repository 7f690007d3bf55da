import type { Readable } from 'node:stream';
import { ProtocolError } from '../errors.js';
import type { StreamMode } from '../stream/demux.js';
import { AttachedSession, OutputStream } from '../stream/output.js';
import type { CallOptions, Transport } from '../transport.js';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerWaitResponse,
  Filters,
  PathStat,
  PruneResponse,
} from '../types.js';
import { segment } from './path.js';

export interface CreateContainerOptions extends CallOptions {
  name?: string;
  /** `os[/arch]` (API ≥ 1.41) */
  platform?: string;
}

export interface AttachOptions extends CallOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Replay output produced before attaching. */
  logs?: boolean;
  /** Keep streaming (default true). */
  stream?: boolean;
  detachKeys?: string;
  /** true: raw TTY stream; false: multiplexed frames; undefined: detected from the first bytes. */
  tty?: boolean;
}

export interface LogsOptions extends CallOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: number | string;
  until?: number | string;
  timestamps?: boolean;
  /** Number of lines from the end, or `all`. */
  tail?: number | 'all';
  /** See {@link AttachOptions.tty}. */
  tty?: boolean;
}

export interface ArchiveOptions extends CallOptions {
  /** PUT: refuse to replace a directory by a non-directory and vice versa. */
  noOverwriteDirNonDir?: boolean;
  /** PUT: take uid/gid from the container's user. */
  copyUIDGID?: boolean;
}

function modeOf(tty: boolean | undefined): StreamMode {
  return tty === undefined ? 'auto' : tty ? 'raw' : 'multiplexed';
}

/** Decodes `X-Docker-Container-Path-Stat` (base64 JSON). */
export function decodePathStat(header: string | string[] | undefined): PathStat | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  try {
    return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as PathStat;
  } catch (cause) {
    throw new ProtocolError('invalid X-Docker-Container-Path-Stat header', { cause });
  }
}

/** containers: create, start, attach, wait, logs, inspect, kill, stop, remove, list, prune, archive. */
export class ContainerEndpoints {
  constructor(private readonly transport: Transport) {}

  /**
   * POST /containers/create: 201. 404 (image absent) → ImageNotFoundError; 409 (name in use) → ConflictError;
   * 400 (malformed config) → BadParameterError.
   */
  create(config: ContainerCreateRequest, options: CreateContainerOptions = {}): Promise<ContainerCreateResponse> {
    return this.transport.json({
      method: 'POST',
      path: '/containers/create',
      query: { name: options.name, platform: options.platform },
      json: config,
      expect: [201],
      notFound: 'image',
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** POST /containers/{id}/start: 204; 304 (already running) → false; 404 NotFoundError. */
  async start(id: string, options: CallOptions = {}): Promise<boolean> {
    const status = await this.transport.empty({
      method: 'POST',
      path: `/containers/${segment(id)}/start`,
      expect: [204, 304],
      ...options,
    });
    return status === 204;
  }

  /**
   * POST /containers/{id}/attach (hijacked: 101 Upgrade); 404 NotFoundError. Attach before start to lose no output.
   * With `stdin: true`, write to `session.stdin` and `closeStdin()` to send end of input.
   */
  async attach(id: string, options: AttachOptions = {}): Promise<AttachedSession> {
    const { socket } = await this.transport.hijack({
      method: 'POST',
      path: `/containers/${segment(id)}/attach`,
      query: {
        stream: options.stream ?? true,
        stdin: options.stdin ?? false,
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        logs: options.logs ?? false,
        detachKeys: options.detachKeys,
      },
      expect: [101],
      timeout: options.timeout,
      signal: options.signal,
    });
    return new AttachedSession(socket, modeOf(options.tty));
  }

  /**
   * POST /containers/{id}/wait?condition=…: 200 `{StatusCode}` once the condition holds. No default timeout.
   * 404 NotFoundError.
   */
  wait(
    id: string,
    options: CallOptions & { condition?: 'not-running' | 'next-exit' | 'removed' } = {},
  ): Promise<ContainerWaitResponse> {
    return this.transport.json({
      method: 'POST',
      path: `/containers/${segment(id)}/wait`,
      query: { condition: options.condition ?? 'not-running' },
      expect: [200],
      long: true,
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /**
   * GET /containers/{id}/logs: 200 with the output stream (framed unless TTY); 404 NotFoundError.
   * With `follow`, the stream lasts until the container stops; `timeout` bounds only the wait for headers.
   */
  async logs(id: string, options: LogsOptions = {}): Promise<OutputStream> {
    const response = await this.transport.request({
      method: 'GET',
      path: `/containers/${segment(id)}/logs`,
      query: {
        follow: options.follow ?? false,
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        since: options.since,
        until: options.until,
        timestamps: options.timestamps,
        tail: options.tail,
      },
      expect: [200],
      streaming: true,
      timeout: options.timeout,
      signal: options.signal,
    });
    return new OutputStream(response.body, modeOf(options.tty));
  }

  /** GET /containers/{id}/json: 200; 404 NotFoundError. */
  inspect(id: string, options: CallOptions & { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.transport.json({
      method: 'GET',
      path: `/containers/${segment(id)}/json`,
      query: { size: options.size },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** POST /containers/{id}/kill: 204; 404 NotFoundError; 409 (not running) ConflictError. */
  async kill(id: string, options: CallOptions & { killSignal?: string } = {}): Promise<void> {
    await this.transport.empty({
      method: 'POST',
      path: `/containers/${segment(id)}/kill`,
      query: { signal: options.killSignal },
      expect: [204],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /**
   * POST /containers/{id}/stop?t=…: 204 → true; 304 (already stopped) → false; 404 NotFoundError.
   * Default timeout: the grace period plus 60 s.
   */
  async stop(id: string, options: CallOptions & { t?: number } = {}): Promise<boolean> {
    const status = await this.transport.empty({
      method: 'POST',
      path: `/containers/${segment(id)}/stop`,
      query: { t: options.t },
      expect: [204, 304],
      timeout: options.timeout ?? ((options.t ?? 10) + 60) * 1000,
      signal: options.signal,
    });
    return status === 204;
  }

  /** DELETE /containers/{id}: 204; 404 NotFoundError; 409 (running, without force) ConflictError. */
  async remove(
    id: string,
    options: CallOptions & { force?: boolean; volumes?: boolean; link?: boolean } = {},
  ): Promise<void> {
    await this.transport.empty({
      method: 'DELETE',
      path: `/containers/${segment(id)}`,
      query: { force: options.force, v: options.volumes, link: options.link },
      expect: [204],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** GET /containers/json: 200. Filters e.g. `{ label: ['runnerkit.test=x'], status: ['exited'] }`. */
  list(
    options: CallOptions & { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {},
  ): Promise<ContainerSummary[]> {
    return this.transport.json({
      method: 'GET',
      path: '/containers/json',
      query: { all: options.all, limit: options.limit, size: options.size, filters: options.filters },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** POST /containers/prune: 200 (stopped containers only). */
  prune(options: CallOptions & { filters?: Filters } = {}): Promise<PruneResponse> {
    return this.transport.json({
      method: 'POST',
      path: '/containers/prune',
      query: { filters: options.filters },
      expect: [200],
      long: true,
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /**
   * GET /containers/{id}/archive?path=…: 200 with a tar stream whose top entry is the path's base name, and the
   * path's stat; 404 NotFoundError (container or path); 400 BadParameterError.
   */
  async getArchive(
    id: string,
    path: string,
    options: CallOptions = {},
  ): Promise<{ stat: PathStat | undefined; tar: Readable }> {
    const response = await this.transport.request({
      method: 'GET',
      path: `/containers/${segment(id)}/archive`,
      query: { path },
      expect: [200],
      streaming: true,
      timeout: options.timeout,
      signal: options.signal,
    });
    return { stat: decodePathStat(response.headers['x-docker-container-path-stat']), tar: response.body };
  }

  /** HEAD /containers/{id}/archive?path=…: 200 → the path's stat; 404 NotFoundError. */
  async statPath(id: string, path: string, options: CallOptions = {}): Promise<PathStat | undefined> {
    const response = await this.transport.request({
      method: 'HEAD',
      path: `/containers/${segment(id)}/archive`,
      query: { path },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
    response.body.resume();
    return decodePathStat(response.headers['x-docker-container-path-stat']);
  }

  /**
   * PUT /containers/{id}/archive?path=…: 200 once the tar is extracted under `path` (which must exist);
   * 404 NotFoundError; 403 (read-only) ForbiddenError; 400 BadParameterError. No default timeout.
   */
  async putArchive(id: string, path: string, tar: Readable | Buffer, options: ArchiveOptions = {}): Promise<void> {
    await this.transport.empty({
      method: 'PUT',
      path: `/containers/${segment(id)}/archive`,
      query: { path, noOverwriteDirNonDir: options.noOverwriteDirNonDir, copyUIDGID: options.copyUIDGID },
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
      expect: [200],
      long: true,
      timeout: options.timeout,
      signal: options.signal,
    });
  }
}
