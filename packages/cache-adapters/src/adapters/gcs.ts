import { Storage } from '@google-cloud/storage';
import {
  type CacheAdapter,
  type CacheDownload,
  type CacheObjectRequest,
  type CacheUpload,
  type CacheUploadRequest,
  DEFAULT_URL_EXPIRY_SECONDS,
  type PresignedRequest,
} from '../adapter.js';
import { CacheConfigError } from '../errors.js';

/** `[runners.cache.gcs]` in camelCase. The runner reads CredentialsFile and passes its contents. */
export interface GcsCacheSettings {
  /** Service account e-mail (`AccessID`). */
  accessId?: string;
  /** PEM private key (`PrivateKey`). */
  privateKey?: string;
  /** Contents of the `CredentialsFile` (a `service_account` JSON key); wins over accessId/privateKey. */
  credentialsJson?: string;
  bucketName: string;
  /** `[runners.cache] MaxUploadedArchiveSize`: signed into uploads as `X-Goog-Content-Length-Range: 0,<max>`. */
  maxUploadedArchiveSize?: number;
  /** API endpoint, default `https://storage.googleapis.com` (tests point it at a local verifier). */
  endpoint?: string;
}

interface ServiceAccountKey {
  type?: string;
  client_email?: string;
  private_key?: string;
}

function credentialsFrom(settings: GcsCacheSettings): { client_email: string; private_key: string } {
  if (settings.credentialsJson) {
    let parsed: ServiceAccountKey;
    try {
      parsed = JSON.parse(settings.credentialsJson) as ServiceAccountKey;
    } catch (error) {
      throw new CacheConfigError('CACHE_CONFIG_INVALID', 'GCS cache: CredentialsFile is not valid JSON', {
        cause: error,
      });
    }
    if (parsed.type !== 'service_account' || !parsed.client_email || !parsed.private_key) {
      throw new CacheConfigError(
        'CACHE_CONFIG_INVALID',
        'GCS cache: only "service_account" credentials files with client_email and private_key are supported',
      );
    }
    return { client_email: parsed.client_email, private_key: parsed.private_key };
  }
  if (settings.accessId && settings.privateKey)
    return { client_email: settings.accessId, private_key: settings.privateKey };
  throw new CacheConfigError(
    'CACHE_CREDENTIALS_MISSING',
    'GCS cache: set AccessID and PrivateKey or CredentialsFile (application default credentials are not supported)',
  );
}

/** A Google Cloud Storage cache: V4 signed URLs, signed offline with the service account's key. */
export function createGcsCache(settings: GcsCacheSettings): CacheAdapter {
  if (!settings.bucketName) throw new CacheConfigError('CACHE_CONFIG_INVALID', 'GCS cache: BucketName is empty');
  const credentials = credentialsFrom(settings);
  const storage = new Storage({
    credentials,
    projectId: 'runnerkit-cache',
    ...(settings.endpoint ? { apiEndpoint: settings.endpoint } : {}),
  });
  const bucket = storage.bucket(settings.bucketName);
  const max =
    settings.maxUploadedArchiveSize && settings.maxUploadedArchiveSize > 0
      ? settings.maxUploadedArchiveSize
      : undefined;

  async function sign(
    name: string,
    method: PresignedRequest['method'],
    expiresIn: number,
    headers: Record<string, string>,
  ): Promise<PresignedRequest> {
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const { 'content-type': contentType, ...extensionHeaders } = headers;
    const [url] = await bucket.file(name).getSignedUrl({
      version: 'v4',
      action: method === 'PUT' ? 'write' : 'read',
      expires: expiresAt,
      ...(contentType !== undefined ? { contentType } : {}),
      ...(Object.keys(extensionHeaders).length > 0 ? { extensionHeaders } : {}),
    });
    return { method, url: new URL(url), headers, expiresAt };
  }

  return {
    kind: 'gcs',
    async getDownload(object: CacheObjectRequest): Promise<CacheDownload> {
      const expiresIn = object.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
      return { type: 'url', get: await sign(object.name, 'GET', expiresIn, {}) };
    },
    async getUpload(object: CacheUploadRequest): Promise<CacheUpload> {
      const expiresIn = object.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (max !== undefined) headers['x-goog-content-length-range'] = `0,${max}`;
      return {
        type: 'url',
        put: await sign(object.name, 'PUT', expiresIn, headers),
        ...(max !== undefined ? { maxSize: max } : {}),
      };
    },
  };
}
