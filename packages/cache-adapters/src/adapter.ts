import type { Readable } from 'node:stream';

/**
 * The contract every cache store implements: how to read and how to write ONE object.
 *
 * - Remote stores (S3, GCS, Azure) answer with presigned requests: the URL and the headers the transfer step
 *   must send. The URL embeds a credential-derived signature, so log it only through `redactUrl`.
 * - The local store answers with streams into `cache_dir`.
 * - Methods never transfer data themselves and may be called before the object exists.
 * - `name` is the object name built by `cacheObjectName` (remote) or `localCacheObjectName` (local).
 * - Calls are independent: one adapter serves any number of jobs concurrently.
 */
export interface CacheAdapter {
  readonly kind: 'local' | 's3' | 'gcs' | 'azure';
  /** Where to read the object from. */
  getDownload(object: CacheObjectRequest): Promise<CacheDownload>;
  /** Where to write the object to. */
  getUpload(object: CacheUploadRequest): Promise<CacheUpload>;
}

export interface CacheObjectRequest {
  /** Object name inside the store (no leading slash). */
  name: string;
  /** How long presigned URLs stay valid; GitLab uses the job timeout. Default 3600 s. */
  expiresInSeconds?: number;
}

export interface CacheUploadRequest extends CacheObjectRequest {
  /** The human cache key, stored as object metadata where the store supports it (`x-amz-meta-cachekey`). */
  humanKey?: string;
}

/** One HTTP request signed in advance; send exactly these headers. */
export interface PresignedRequest {
  method: 'GET' | 'HEAD' | 'PUT';
  url: URL;
  headers: Record<string, string>;
  expiresAt: Date;
}

/** A readable object with what the store knows about it. */
export interface CacheObjectStream {
  stream: Readable;
  size: number;
  lastModified: Date;
}

export type CacheDownload =
  | { type: 'url'; get: PresignedRequest; head?: PresignedRequest }
  | {
      type: 'stream';
      open(): Promise<CacheObjectStream | undefined>;
      stat(): Promise<{ size: number; lastModified: Date } | undefined>;
    };

export type CacheUpload =
  | { type: 'url'; put: PresignedRequest; maxSize?: number }
  | { type: 'stream'; write(body: Readable, options?: { lastModified?: Date }): Promise<void> };

/** Default validity of presigned URLs, in seconds. */
export const DEFAULT_URL_EXPIRY_SECONDS = 3600;
