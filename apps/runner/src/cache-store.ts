// [runners.cache] → job-runtime's CacheStore port: the adapter (S3, GCS, Azure) says where an object lives, this
// file moves the bytes (presigned requests over undici, or the adapter's own streams).
import { createReadStream, createWriteStream } from 'node:fs';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CacheAdapter, PresignedRequest } from '@runnerkit/cache-adapters';
import type { CacheConfig } from '@runnerkit/config-schema';
import type { ByteSource, CacheStore } from '@runnerkit/job-runtime';

/** The adapter for `[runners.cache]`, or undefined when no distributed cache is configured. */
export async function createCacheAdapter(
  cache: CacheConfig | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CacheAdapter | undefined> {
  const type = (cache?.Type ?? '').toLowerCase();
  if (!cache || type === '') return undefined;
  if (type === 's3' && cache.s3) {
    const { createS3Cache } = await import('@runnerkit/cache-adapters/s3');
    const s3 = cache.s3;
    return createS3Cache({
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
      ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            iamCredentials: {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
            },
          }
        : {}),
    });
  }
  if (type === 'gcs' && cache.gcs) {
    const { createGcsCache } = await import('@runnerkit/cache-adapters/gcs');
    const gcs = cache.gcs;
    return createGcsCache({
      bucketName: gcs.BucketName ?? '',
      ...(gcs.AccessID ? { accessId: gcs.AccessID } : {}),
      ...(gcs.PrivateKey ? { privateKey: gcs.PrivateKey } : {}),
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
    });
  }
  throw new Error(`[runners.cache] Type "${cache.Type}" has no matching [runners.cache.${type}] section`);
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
    outgoing.on('error', reject);
    if (body) createReadStream(body.path).on('error', reject).pipe(outgoing);
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
        throw new Error(`cache download failed: HTTP ${status}`);
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
          throw new Error(`cache archive is ${size} bytes, above MaxUploadedArchiveSize ${upload.maxSize}`);
        const response = await send(upload.put, { path, size }, signal);
        response.resume();
        const status = response.statusCode ?? 0;
        if (status >= 300) throw new Error(`cache upload failed: HTTP ${status}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
