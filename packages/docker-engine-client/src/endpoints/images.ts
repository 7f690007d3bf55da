import type { Readable } from 'node:stream';
import {
  DaemonError,
  type DockerErrorDetails,
  ImageNotFoundError,
  StreamError,
  UnauthorizedError,
  type DockerError,
} from '../errors.js';
import { readJsonLines } from '../stream/json-lines.js';
import type { CallOptions, RawResponse, Transport } from '../transport.js';
import type { Filters, ImageDeleteItem, ImageInspect, ImageSummary, ProgressEvent, RegistryAuth } from '../types.js';
import { imageSegment } from './path.js';

export interface PullOptions extends CallOptions {
  /** Tag or digest (`sha256:…`); default `latest` when `image` carries neither. */
  tag?: string;
  /** `os[/arch[/variant]]` */
  platform?: string;
  /** Credentials (sent as X-Registry-Auth) or an already-encoded header value. */
  auth?: RegistryAuth | string;
  /** Called for every progress line. */
  onProgress?: (event: ProgressEvent) => void;
}

export interface LoadOptions extends CallOptions {
  quiet?: boolean;
  onProgress?: (event: ProgressEvent) => void;
}

export interface ImportOptions extends CallOptions {
  repo?: string;
  tag?: string;
  platform?: string;
  /** Dockerfile instructions applied to the imported image, e.g. `CMD ["sh"]`. */
  changes?: string[];
  message?: string;
  onProgress?: (event: ProgressEvent) => void;
}

/** base64url(JSON) as the daemon expects in X-Registry-Auth. */
export function encodeRegistryAuth(auth: RegistryAuth): string {
  // Go's base64.URLEncoding: URL alphabet *with* padding (the daemon ignores an unpadded header on pull).
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

const AUTH_FAILURE = /unauthorized|authentication required|no basic auth credentials|denied/i;

/** Registry refusals arrive as 500 from the daemon: give them their own code. */
function refineRegistryError(error: unknown): never {
  if (error instanceof DaemonError && AUTH_FAILURE.test(error.daemonMessage ?? '')) {
    throw new UnauthorizedError(`${error.statusCode} ${error.daemonMessage}`, {
      method: error.method,
      endpoint: error.endpoint,
      statusCode: error.statusCode,
      daemonMessage: error.daemonMessage,
      cause: error,
    });
  }
  throw error;
}

/** Splits `name[:tag][@digest]` into fromImage and tag (the tag is after the last `:` following the last `/`). */
export function splitReference(reference: string): { name: string; tag: string } {
  const at = reference.indexOf('@');
  if (at >= 0) return { name: reference.slice(0, at), tag: reference.slice(at + 1) };
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { name: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { name: reference, tag: 'latest' };
}

/** Turns an `error` line of a progress stream into a typed error. */
function streamFailure(event: ProgressEvent, details: DockerErrorDetails): DockerError {
  const message = event.errorDetail?.message ?? event.error ?? 'unknown error';
  const full = { ...details, daemonMessage: message };
  if (/not found|manifest unknown|does not exist|no such image/i.test(message)) {
    return new ImageNotFoundError(message, full);
  }
  if (AUTH_FAILURE.test(message)) {
    return new UnauthorizedError(message, full);
  }
  return new StreamError(message, full);
}

async function drainProgress(
  response: RawResponse,
  onProgress: ((event: ProgressEvent) => void) | undefined,
): Promise<ProgressEvent[]> {
  const details = { method: response.method, endpoint: response.endpoint, statusCode: response.statusCode };
  const kept: ProgressEvent[] = [];
  for await (const event of readJsonLines<ProgressEvent>(response.body)) {
    if (event.error || event.errorDetail) {
      response.body.destroy();
      throw streamFailure(event, details);
    }
    onProgress?.(event);
    if (!event.progressDetail || event.stream) kept.push(event);
    if (kept.length > 1000) kept.shift();
  }
  return kept;
}

/** images: inspect, pull, push, tag, remove, list, load, import, export. */
export class ImageEndpoints {
  constructor(private readonly transport: Transport) {}

  /** GET /images/{name}/json: 200; 404 → ImageNotFoundError. */
  inspect(name: string, options: CallOptions = {}): Promise<ImageInspect> {
    return this.transport.json({
      method: 'GET',
      path: `/images/${imageSegment(name)}/json`,
      expect: [200],
      notFound: 'image',
      ...options,
    });
  }

  /** Like {@link inspect} but `undefined` when the image is absent. */
  async find(name: string, options: CallOptions = {}): Promise<ImageInspect | undefined> {
    try {
      return await this.inspect(name, options);
    } catch (error) {
      if (error instanceof ImageNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * POST /images/create?fromImage=…&tag=…: 200 with a progress stream (errors arrive in the stream: mapped to
   * ImageNotFoundError / UnauthorizedError / StreamError); 404 → ImageNotFoundError. Yields each progress line.
   */
  async *pullStream(image: string, options: Omit<PullOptions, 'onProgress'> = {}): AsyncGenerator<ProgressEvent> {
    const response = await this.startPull(image, options);
    const details = { method: response.method, endpoint: response.endpoint, statusCode: response.statusCode };
    try {
      for await (const event of readJsonLines<ProgressEvent>(response.body)) {
        if (event.error || event.errorDetail) throw streamFailure(event, details);
        yield event;
      }
    } finally {
      response.body.destroy();
    }
  }

  /** Pulls and resolves when the daemon reports the end; returns the non-progress status lines. */
  async pull(image: string, options: PullOptions = {}): Promise<ProgressEvent[]> {
    const response = await this.startPull(image, options);
    return drainProgress(response, options.onProgress);
  }

  private startPull(image: string, options: PullOptions): Promise<RawResponse> {
    const split = options.tag ? { name: image, tag: options.tag } : splitReference(image);
    const headers: Record<string, string> = {};
    if (options.auth !== undefined) {
      headers['x-registry-auth'] = typeof options.auth === 'string' ? options.auth : encodeRegistryAuth(options.auth);
    }
    return this.transport
      .request({
        method: 'POST',
        path: '/images/create',
        query: { fromImage: split.name, tag: split.tag, platform: options.platform },
        headers,
        expect: [200],
        notFound: 'image',
        long: true,
        streaming: options.timeout === undefined,
        timeout: options.timeout,
        signal: options.signal,
      })
      .catch(refineRegistryError);
  }

  /**
   * POST /images/{name}/push?tag=…: 200 with a progress stream (errors in the stream are typed as for pull);
   * 404 → ImageNotFoundError.
   */
  async push(name: string, options: PullOptions = {}): Promise<ProgressEvent[]> {
    const split = options.tag ? { name, tag: options.tag } : splitReference(name);
    const response = await this.transport
      .request({
        method: 'POST',
        path: `/images/${imageSegment(split.name)}/push`,
        query: { tag: split.tag },
        // the daemon requires the header even for registries without authentication
        headers: {
          'x-registry-auth':
            options.auth === undefined
              ? encodeRegistryAuth({})
              : typeof options.auth === 'string'
                ? options.auth
                : encodeRegistryAuth(options.auth),
        },
        expect: [200],
        notFound: 'image',
        long: true,
        timeout: options.timeout,
        signal: options.signal,
      })
      .catch(refineRegistryError);
    return drainProgress(response, options.onProgress);
  }

  /** POST /images/{name}/tag?repo=…&tag=…: 201; 404 → ImageNotFoundError; 409 conflict. */
  async tag(name: string, repo: string, tag = 'latest', options: CallOptions = {}): Promise<void> {
    await this.transport.empty({
      method: 'POST',
      path: `/images/${imageSegment(name)}/tag`,
      query: { repo, tag },
      expect: [200, 201],
      notFound: 'image',
      ...options,
    });
  }

  /** DELETE /images/{name}: 200; 404 → ImageNotFoundError; 409 (in use) → ConflictError. */
  remove(name: string, options: CallOptions & { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    return this.transport.json({
      method: 'DELETE',
      path: `/images/${imageSegment(name)}`,
      query: { force: options.force, noprune: options.noprune },
      expect: [200],
      notFound: 'image',
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** GET /images/json: 200. Filters e.g. `{ label: ['a=b'], reference: ['busybox'] }`. */
  list(options: CallOptions & { all?: boolean; filters?: Filters; digests?: boolean } = {}): Promise<ImageSummary[]> {
    return this.transport.json({
      method: 'GET',
      path: '/images/json',
      query: { all: options.all, filters: options.filters, digests: options.digests },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** POST /images/load with a tar (docker save format): 200 with progress; returns the status lines. */
  async load(tar: Readable | Buffer, options: LoadOptions = {}): Promise<ProgressEvent[]> {
    const response = await this.transport.request({
      method: 'POST',
      path: '/images/load',
      query: { quiet: options.quiet ?? false },
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
      expect: [200],
      long: true,
      timeout: options.timeout,
      signal: options.signal,
    });
    return drainProgress(response, options.onProgress);
  }

  /** POST /images/create?fromSrc=- with a root filesystem tar: 200 with progress. */
  async import(tar: Readable | Buffer, options: ImportOptions = {}): Promise<ProgressEvent[]> {
    const response = await this.transport.request({
      method: 'POST',
      path: '/images/create',
      query: {
        fromSrc: '-',
        repo: options.repo,
        tag: options.tag,
        platform: options.platform,
        message: options.message,
        changes: options.changes,
      },
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
      expect: [200],
      long: true,
      timeout: options.timeout,
      signal: options.signal,
    });
    return drainProgress(response, options.onProgress);
  }

  /** GET /images/{name}/get: 200, a tar stream (docker save format); 404 → ImageNotFoundError. */
  async export(name: string, options: CallOptions = {}): Promise<Readable> {
    const response = await this.transport.request({
      method: 'GET',
      path: `/images/${imageSegment(name)}/get`,
      expect: [200],
      notFound: 'image',
      long: true,
      streaming: options.timeout === undefined,
      ...options,
    });
    return response.body;
  }
}
