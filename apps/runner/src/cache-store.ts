// [runners.cache] → job-runtime's CacheStore port: the adapter (S3, GCS, Azure) says where an object lives, this
// file moves the bytes (presigned requests over node:http(s), or the adapter's own streams).
import { createReadStream, createWriteStream } from 'node:fs';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CacheAdapter, type PresignedRequest, redactUrl } from '@runnerkit/cache-adapters';
import type { CacheConfig } from '@runnerkit/config-schema';
import type { ByteSource, CacheStore } from '@runnerkit/job-runtime';

export type RunnerCacheErrorCode =
  | 'RUNNER_CACHE_CONFIG_INVALID'
  | 'RUNNER_CACHE_CREDENTIALS_UNAVAILABLE'
  | 'RUNNER_CACHE_TRANSFER_FAILED'
  | 'RUNNER_CACHE_ARCHIVE_TOO_BIG';

/**
 * The distributed cache of `[runners.cache]` cannot be set up or a transfer failed. Messages name the config key
 * and never carry credentials: URLs lose their query, key files are named by path only.
 */
export class RunnerCacheError extends Error {
  override readonly name = 'RunnerCacheError';
  readonly code: RunnerCacheErrorCode;
  /** The HTTP status of a failed transfer. */
  readonly status: number | undefined;
  constructor(code: RunnerCacheErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

export interface CacheAdapterOptions {
  /** Problems GitLab Runner only warns about (an unknown S3 ServerSideEncryption). */
  onWarning?: (message: string) => void;
}

const IAM_SOURCES =
  'environment (AWS_ACCESS_KEY_ID), shared config and credentials files, web identity token, container credentials, EC2 instance profile';

/**
 * `AuthenticationType = "iam"`: the AWS SDK's default credential chain, as GitLab Runner's S3 adapter uses it.
 * The chain reads the process environment and files itself; an empty chain becomes a RunnerCacheError when a
 * URL is signed (the runner keeps working without the distributed cache for that job).
 */
async function iamCredentials(
  env: Readonly<Record<string, string | undefined>>,
): Promise<() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    // The chain's first link, for callers that pass their own environment object.
    const fixed = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
    return async () => fixed;
  }
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  // Remote sources (container credentials, instance metadata) give up after 2 s with one retry: never a hang.
  const chain = defaultProvider({ timeout: 2000, maxRetries: 1 });
  return async () => {
    try {
      return await chain();
    } catch (error) {
      throw new RunnerCacheError(
        'RUNNER_CACHE_CREDENTIALS_UNAVAILABLE',
        `[runners.cache.s3] AuthenticationType "iam": no AWS credentials found (tried ${IAM_SOURCES}): ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
}

/** `[runners.cache.gcs] CredentialsFile`, read here (the library never reads files); its contents never reach a message. */
async function gcsCredentialsJson(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RunnerCacheError(
      'RUNNER_CACHE_CONFIG_INVALID',
      `runners.cache.gcs.CredentialsFile ${JSON.stringify(path)}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  try {
    JSON.parse(text);
  } catch {
    // No cause: JSON.parse's message quotes the start of the file, which holds the private key.
    throw new RunnerCacheError(
      'RUNNER_CACHE_CONFIG_INVALID',
      `runners.cache.gcs.CredentialsFile ${JSON.stringify(path)}: not a JSON service account key file`,
    );
  }
  return text;
}

function sizeLimit(cache: CacheConfig): { maxUploadedArchiveSize: number } | Record<string, never> {
  return cache.MaxUploadedArchiveSize && cache.MaxUploadedArchiveSize > 0
    ? { maxUploadedArchiveSize: cache.MaxUploadedArchiveSize }
    : {};
}

/**
 * The adapter for `[runners.cache]`, or undefined when no distributed cache is configured. `env` is the process
 * environment (IAM credentials); relative file paths resolve against the process's working directory.
 */
export async function createCacheAdapter(
  cache: CacheConfig | undefined,
  env: Readonly<Record<string, string | undefined>>,
  options: CacheAdapterOptions = {},
): Promise<CacheAdapter | undefined> {
  const type = (cache?.Type ?? '').toLowerCase();
  if (!cache || type === '') return undefined;
  if (type === 's3' && cache.s3) {
    const { createS3Cache, resolveS3AuthenticationType } = await import('@runnerkit/cache-adapters/s3');
    const s3 = cache.s3;
    const settings = {
      bucketName: s3.BucketName ?? '',
      ...(s3.ServerAddress ? { serverAddress: s3.ServerAddress } : {}),
      ...(s3.AccessKey ? { accessKey: s3.AccessKey } : {}),
      ...(s3.SecretKey ? { secretKey: s3.SecretKey } : {}),
      ...(s3.SessionToken ? { sessionToken: s3.SessionToken } : {}),
      ...(s3.BucketLocation ? { bucketLocation: s3.BucketLocation } : {}),
      ...(s3.Insecure !== undefined ? { insecure: s3.Insecure } : {}),
      ...(s3.AuthenticationType ? { authenticationType: s3.AuthenticationType } : {}),
      ...(s3.ServerSideEncryption ? { serverSideEncryption: s3.ServerSideEncryption } : {}),
      ...(s3.ServerSideEncryptionKeyID ? { serverSideEncryptionKeyId: s3.ServerSideEncryptionKeyID } : {}),
      ...(s3.DualStack !== undefined ? { dualStack: s3.DualStack } : {}),
      ...(s3.Accelerate !== undefined ? { accelerate: s3.Accelerate } : {}),
      ...(s3.PathStyle !== undefined ? { pathStyle: s3.PathStyle } : {}),
      ...sizeLimit(cache),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    };
    return createS3Cache({
      ...settings,
      ...(resolveS3AuthenticationType(settings) === 'iam' ? { iamCredentials: await iamCredentials(env) } : {}),
    });
  }
  if (type === 'gcs' && cache.gcs) {
    const { createGcsCache } = await import('@runnerkit/cache-adapters/gcs');
    const gcs = cache.gcs;
    return createGcsCache({
      bucketName: gcs.BucketName ?? '',
      ...(gcs.CredentialsFile
        ? { credentialsJson: await gcsCredentialsJson(gcs.CredentialsFile) }
        : {
            ...(gcs.AccessID ? { accessId: gcs.AccessID } : {}),
            ...(gcs.PrivateKey ? { privateKey: gcs.PrivateKey } : {}),
          }),
      ...sizeLimit(cache),
    });
  }
  if (type === 'azure' && cache.azure) {
    const { createAzureCache } = await import('@runnerkit/cache-adapters/azure');
    const azure = cache.azure;
    return createAzureCache({
      accountName: azure.AccountName ?? '',
      containerName: azure.ContainerName ?? '',
      ...(azure.AccountKey ? { accountKey: azure.AccountKey } : {}),
      ...(azure.StorageDomain ? { storageDomain: azure.StorageDomain } : {}),
      ...sizeLimit(cache),
    });
  }
  throw new RunnerCacheError(
    'RUNNER_CACHE_CONFIG_INVALID',
    `[runners.cache] Type "${cache.Type}" has no matching [runners.cache.${type}] section`,
  );
}

export interface JobCacheStoreOptions {
  projectId: number;
  runnerShortToken: string;
  /** `[runners.cache] Path` and `Shared`. */
  path?: string | undefined;
  shared?: boolean | undefined;
  hashedKeys?: boolean | undefined;
  /** Presigned URLs stay valid this long (GitLab: the job timeout). */
  expiresInSeconds?: number | undefined;
  objectName: (input: {
    path?: string;
    shared?: boolean;
    runnerShortToken?: string;
    projectId: number;
    key: string;
    hashed?: boolean;
  }) => string;
}

/** One presigned request with node:http(s); the body (a file) is sent with its length, as S3 requires. */
function send(
  presigned: PresignedRequest,
  body?: { path: string; size: number },
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const call = presigned.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = call(
      presigned.url,
      {
        method: presigned.method,
        headers: { ...presigned.headers, ...(body ? { 'content-length': String(body.size) } : {}) },
        ...(signal ? { signal } : {}),
      },
      resolve,
    );
    const fail = (error: Error) =>
      reject(
        signal?.aborted
          ? error
          : new RunnerCacheError(
              'RUNNER_CACHE_TRANSFER_FAILED',
              `cache ${presigned.method === 'PUT' ? 'upload' : 'download'} failed: [${presigned.method}] ${redactUrl(presigned.url)}: ${error.message}`,
              { cause: error },
            ),
      );
    outgoing.on('error', fail);
    if (body) createReadStream(body.path).on('error', fail).pipe(outgoing);
    else outgoing.end();
  });
}

/** The CacheStore port for one job: object names carry the project and (unless shared) the runner. */
export function createJobCacheStore(adapter: CacheAdapter, options: JobCacheStoreOptions): CacheStore {
  const name = (key: string) =>
    options.objectName({
      ...(options.path ? { path: options.path } : {}),
      ...(options.shared ? { shared: true } : {}),
      runnerShortToken: options.runnerShortToken,
      projectId: options.projectId,
      key,
      ...(options.hashedKeys ? { hashed: true } : {}),
    });
  const expiry = options.expiresInSeconds ? { expiresInSeconds: options.expiresInSeconds } : {};
  return {
    async get(key, signal) {
      const download = await adapter.getDownload({ name: name(key), ...expiry });
      if (download.type === 'stream') {
        const object = await download.open();
        return object?.stream;
      }
      const response = await send(download.get, undefined, signal);
      const status = response.statusCode ?? 0;
      if (status === 404) {
        response.resume();
        return undefined;
      }
      if (status >= 300) {
        response.resume();
        throw new RunnerCacheError(
          'RUNNER_CACHE_TRANSFER_FAILED',
          `cache download failed: [GET] ${redactUrl(download.get.url)}: HTTP ${status}`,
          { status },
        );
      }
      return response as ByteSource;
    },
    async put(key, body, signal) {
      const upload = await adapter.getUpload({ name: name(key), humanKey: key, ...expiry });
      if (upload.type === 'stream') {
        await upload.write(Readable.from(body));
        return;
      }
      // Presigned PUTs need a length: spool the archive first.
      const dir = await mkdtemp(join(tmpdir(), 'runnerkit-cache-'));
      try {
        const path = join(dir, 'archive');
        await pipeline(Readable.from(body), createWriteStream(path), signal ? { signal } : {});
        const size = (await stat(path)).size;
        if (upload.maxSize !== undefined && upload.maxSize > 0 && size > upload.maxSize)
          throw new RunnerCacheError(
            'RUNNER_CACHE_ARCHIVE_TOO_BIG',
            `Cache archive size (${size}) is too big (Limit is set to ${upload.maxSize}). Cache will be stored only locally.`,
          );
        const response = await send(upload.put, { path, size }, signal);
        response.resume();
        const status = response.statusCode ?? 0;
        if (status >= 300)
          throw new RunnerCacheError(
            'RUNNER_CACHE_TRANSFER_FAILED',
            `cache upload failed: [PUT] ${redactUrl(upload.put.url)}: HTTP ${status}`,
            { status },
          );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
