import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JobApiError, type JobApiErrorCode } from './errors.js';
import { redactUrl } from './mask.js';
import { statusError } from './response.js';
import { backoffDelay, type Transport, type TransportResponse } from './transport.js';

export type ArtifactFormat = 'zip' | 'gzip' | 'raw' | 'zipzstd' | 'tarzstd';

export interface UploadArtifactOptions {
  jobId: number;
  jobToken: string;
  /** The archive: a file path, or a function returning a fresh stream for every try (bodies are re-sent). */
  source: { path: string } | { stream: () => Readable | AsyncIterable<Uint8Array> };
  /** Artifact name after variable expansion; reduced to its base name (default `artifacts`). */
  name?: string;
  /** The part's file name as is (overrides `name` + the format's extension). */
  filename?: string;
  /** `artifact_format`; empty means zip but sends no parameter. */
  format?: ArtifactFormat | '';
  /** `artifact_type` (archive, junit, …). */
  type?: string;
  /** `expire_in`, passed through (`1 week`). */
  expireIn?: string | null;
  signal?: AbortSignal;
  /** Tries in total for ordinary failures (3) and for 503 (6); back-off 1 s to 5 s between tries. */
  maxTries?: number;
  maxTriesServiceUnavailable?: number;
  retryDelayMs?: { minMs?: number; maxMs?: number };
}

export interface UploadArtifactResult {
  /** Tries used, including the successful one. */
  tries: number;
  filename: string;
}

const EXTENSIONS: Record<string, string> = { zip: '.zip', zipzstd: '.zip', gzip: '.gz', tarzstd: '.tar.zst', raw: '' };

/** `<name><ext>` as GitLab Runner names the uploaded part (spec §8.1). */
export function artifactFilename(name: string | undefined, format: ArtifactFormat | '' | undefined): string {
  let base = name === undefined || name === '' ? 'artifacts' : basename(name.replace(/\\/g, '/'));
  if (base === '' || base === '.' || base === '..' || base === '/') base = 'default';
  return `${base}${EXTENSIONS[format || 'zip'] ?? ''}`;
}

function quoteParameter(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/[\r\n]/g, ' ');
}

async function* multipartBody(
  boundary: string,
  filename: string,
  content: Readable | AsyncIterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteParameter(filename)}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  for await (const chunk of content) {
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

/**
 * `POST /api/v4/jobs/:id/artifacts` (spec §8.1): one multipart part `file`, streamed with chunked encoding,
 * format/type/expiry in the query. 413 → JOB_API_ARTIFACT_TOO_LARGE, 403 → JOB_API_ARTIFACT_FORBIDDEN
 * (no retry); 307 moves to the `Location` host; 503 is tried up to 6 times, other failures 3 times.
 */
export async function uploadArtifact(
  transport: Transport,
  options: UploadArtifactOptions,
): Promise<UploadArtifactResult> {
  const filename = options.filename ?? artifactFilename(options.name, options.format);
  const query: Record<string, string> = {};
  if (options.format) query.artifact_format = options.format;
  if (options.type) query.artifact_type = options.type;
  if (options.expireIn) query.expire_in = options.expireIn;
  const maxTries = options.maxTries ?? 3;
  const maxTries503 = options.maxTriesServiceUnavailable ?? 6;
  let base: URL = transport.root;
  let tries = 0;
  let failures = 0;
  let failures503 = 0;
  for (;;) {
    tries++;
    const boundary = randomBytes(30).toString('hex');
    const openSource = () =>
      'path' in options.source ? createReadStream(options.source.path) : options.source.stream();
    const url = new URL(`jobs/${options.jobId}/artifacts`, base);
    let response: TransportResponse;
    try {
      response = await transport.send({
        method: 'POST',
        path: url,
        query,
        headers: {
          'job-token': options.jobToken,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body: () => Readable.from(multipartBody(boundary, filename, openSource())),
        signal: options.signal,
        secrets: [options.jobToken],
      });
    } catch (error) {
      const apiError = JobApiError.isInstance(error)
        ? error
        : new JobApiError('JOB_API_NETWORK_ERROR', String(error), { cause: error });
      if (apiError.code === 'JOB_API_ABORTED' || apiError.code === 'JOB_API_CLIENT_ERROR') throw apiError;
      failures++;
      if (failures >= maxTries) throw wrapUpload(apiError, tries);
      await pause(transport, failures, options);
      continue;
    }
    const status = response.status;
    if (status === 201 || status === 200) {
      await response.body.dump().catch(() => undefined);
      return { tries, filename };
    }
    if (status === 307 || status === 308) {
      const location = response.headers.location;
      await response.body.dump().catch(() => undefined);
      if (location) {
        const target = new URL(location, url);
        base = new URL(transport.root.pathname, target.origin);
        failures++;
        if (failures >= maxTries) {
          throw new JobApiError(
            'JOB_API_TOO_MANY_REDIRECTS',
            `artifact upload redirected too often (last: ${redactUrl(target)})`,
          );
        }
        continue;
      }
    }
    const secrets = [options.jobToken];
    if (status === 413) throw await statusError(response, 'POST', 'JOB_API_ARTIFACT_TOO_LARGE', secrets, 'too large');
    if (status === 403) throw await statusError(response, 'POST', 'JOB_API_ARTIFACT_FORBIDDEN', secrets);
    const error = await statusError(response, 'POST', 'JOB_API_ARTIFACT_UPLOAD_FAILED', secrets);
    if (status === 503) {
      failures503++;
      if (failures503 >= maxTries503) throw error;
      await pause(transport, failures503, options);
      continue;
    }
    failures++;
    if (failures >= maxTries) throw error;
    await pause(transport, failures, options);
  }
}

function wrapUpload(error: JobApiError, tries: number): JobApiError {
  return new JobApiError(
    'JOB_API_ARTIFACT_UPLOAD_FAILED',
    `artifact upload failed after ${tries} tries: ${error.message}`,
    {
      cause: error,
    },
  );
}

function pause(
  transport: Transport,
  failures: number,
  options: { retryDelayMs?: { minMs?: number; maxMs?: number }; signal?: AbortSignal },
) {
  const delay = backoffDelay(failures, options.retryDelayMs?.minMs ?? 1000, options.retryDelayMs?.maxMs ?? 5000);
  return transport.clock.sleep(delay, options.signal);
}

export type DownloadedFormat = 'zip' | 'gzip' | 'zstd';

export interface DownloadArtifactOptions {
  /** The dependency's job id. */
  jobId: number;
  /** `dependencies[].token`, sent as `JOB-TOKEN` (never to another host after a redirect). */
  jobToken: string;
  /** File to write; written through a temporary file next to it and renamed when complete. */
  destination: string;
  /** Ask for `direct_download=true` on the first try (FF_USE_DIRECT_DOWNLOAD, default true). */
  directDownload?: boolean;
  signal?: AbortSignal;
  /** Tries in total for retryable failures (3), 1 s apart. */
  maxTries?: number;
  retryDelayMs?: number;
  maxRedirects?: number;
}

export interface DownloadArtifactResult {
  path: string;
  bytes: number;
  format: DownloadedFormat;
  /** `filename` from Content-Disposition, when sent. */
  filename: string | undefined;
}

/** Detects the archive format from its first bytes (spec §8.2). */
export function detectArtifactFormat(head: Uint8Array): DownloadedFormat {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'zip';
}

function dispositionFilename(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(value);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(value);
  return plain?.[1];
}

const DOWNLOAD_CODES: Record<number, JobApiErrorCode> = {
  401: 'JOB_API_ARTIFACT_UNAUTHORIZED',
  403: 'JOB_API_ARTIFACT_FORBIDDEN',
  404: 'JOB_API_ARTIFACT_NOT_FOUND',
};

/**
 * `GET /api/v4/jobs/:id/artifacts` (spec §8.2), streamed to `destination`. Redirects are followed by hand so
 * `JOB-TOKEN` is only sent to the GitLab origin. 401/403/404 fail at once; other failures are tried again.
 */
export async function downloadArtifact(
  transport: Transport,
  options: DownloadArtifactOptions,
): Promise<DownloadArtifactResult> {
  const maxTries = options.maxTries ?? 3;
  const maxRedirects = options.maxRedirects ?? 10;
  let lastError: JobApiError | undefined;
  for (let attempt = 1; attempt <= maxTries; attempt++) {
    if (attempt > 1) await transport.clock.sleep(options.retryDelayMs ?? 1000, options.signal);
    const first = transport.resolve(`jobs/${options.jobId}/artifacts`);
    if (attempt === 1 && (options.directDownload ?? true)) first.searchParams.set('direct_download', 'true');
    let url = first;
    let response: TransportResponse | undefined;
    try {
      for (let hop = 0; ; hop++) {
        const sameOrigin = url.origin === transport.root.origin;
        response = await transport.send({
          method: 'GET',
          path: url,
          headers: sameOrigin ? { 'job-token': options.jobToken } : {},
          signal: options.signal,
          secrets: [options.jobToken],
        });
        const location = response.headers.location;
        if ([301, 302, 303, 307, 308].includes(response.status) && location) {
          await response.body.dump().catch(() => undefined);
          if (hop >= maxRedirects) {
            throw new JobApiError(
              'JOB_API_TOO_MANY_REDIRECTS',
              `artifact download: more than ${maxRedirects} redirects`,
            );
          }
          url = new URL(location, url);
          continue;
        }
        break;
      }
    } catch (error) {
      const apiError = JobApiError.isInstance(error)
        ? error
        : new JobApiError('JOB_API_NETWORK_ERROR', String(error), { cause: error });
      if (apiError.code === 'JOB_API_ABORTED' || apiError.code === 'JOB_API_CLIENT_ERROR') throw apiError;
      if (apiError.code === 'JOB_API_TOO_MANY_REDIRECTS') throw apiError;
      lastError = apiError;
      continue;
    }
    const final = response as TransportResponse;
    const code = DOWNLOAD_CODES[final.status];
    if (code) throw await statusError(final, 'GET', code, [options.jobToken]);
    if (final.status !== 200) {
      lastError = await statusError(final, 'GET', 'JOB_API_ARTIFACT_DOWNLOAD_FAILED', [options.jobToken]);
      continue;
    }
    const temporary = `${options.destination}.${randomBytes(6).toString('hex')}.part`;
    try {
      let bytes = 0;
      const counter = async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          yield chunk;
        }
      };
      await pipeline(final.body, counter, createWriteStream(temporary), { signal: options.signal });
      const head = Buffer.alloc(4);
      const handle = await open(temporary, 'r');
      try {
        await handle.read(head, 0, 4, 0);
      } finally {
        await handle.close();
      }
      await rename(temporary, options.destination);
      return {
        path: options.destination,
        bytes,
        format: detectArtifactFormat(head),
        filename: dispositionFilename(final.headers['content-disposition']),
      };
    } catch (error) {
      await rm(temporary, { force: true });
      if (options.signal?.aborted) {
        throw new JobApiError('JOB_API_ABORTED', 'artifact download aborted', { cause: error });
      }
      lastError = new JobApiError(
        'JOB_API_ARTIFACT_DOWNLOAD_FAILED',
        `artifact download of job ${options.jobId} broke off`,
        {
          cause: error,
          retryable: true,
        },
      );
    }
  }
  throw new JobApiError(
    'JOB_API_ARTIFACT_DOWNLOAD_FAILED',
    `artifact download of job ${options.jobId} failed after ${maxTries} tries${lastError ? `: ${lastError.message}` : ''}`,
    { cause: lastError },
  );
}
