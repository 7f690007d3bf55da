import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
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

/** Static credentials or a provider function, as the AWS SDK accepts them. */
export type S3Credentials = NonNullable<S3ClientConfig['credentials']>;

/** `[runners.cache.s3]` in camelCase, plus what the caller supplies instead of ambient state. */
export interface S3CacheSettings {
  /** `host[:port]` of an S3-compatible server, without scheme; empty means AWS. */
  serverAddress?: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  bucketName: string;
  /** Region; default `us-east-1`. */
  bucketLocation?: string;
  /** Plain HTTP to `serverAddress`. */
  insecure?: boolean;
  /** `iam` or `access-key` (case-insensitive); derived when empty (see {@link resolveS3AuthenticationType}). */
  authenticationType?: string;
  /** `S3`/`AES256`, `KMS`/`AWS:KMS`, `DSSE-KMS`/`AWS:KMS:DSSE` (case-insensitive); anything else means none. */
  serverSideEncryption?: string;
  serverSideEncryptionKeyId?: string;
  /** Dual-stack AWS endpoints (default true); ignored when `serverAddress` is set. */
  dualStack?: boolean;
  accelerate?: boolean;
  /** Path-style URLs; default: on for a `serverAddress` that is not an AWS or other virtual-host-only endpoint. */
  pathStyle?: boolean;
  /**
   * Credentials for `iam`: the runner passes the instance-profile / container provider (this library never
   * reads the environment or the metadata service by itself).
   */
  iamCredentials?: S3Credentials;
  /** `[runners.cache] MaxUploadedArchiveSize`: returned with the upload target for the transfer step to enforce. */
  maxUploadedArchiveSize?: number;
  /** Called with problems GitLab Runner only warns about (an unknown encryption type). */
  onWarning?: (message: string) => void;
}

/**
 * GitLab's rule: an explicit `AuthenticationType` wins; otherwise `access-key` when server address, access key
 * and secret key are all set, else `iam`.
 */
export function resolveS3AuthenticationType(settings: S3CacheSettings): 'iam' | 'access-key' {
  const explicit = (settings.authenticationType ?? '').toLowerCase();
  if (explicit === 'iam' || explicit === 'access-key') return explicit;
  if (explicit !== '') {
    throw new CacheConfigError(
      'CACHE_CONFIG_INVALID',
      `unknown S3 AuthenticationType ${JSON.stringify(settings.authenticationType)}`,
    );
  }
  return settings.serverAddress && settings.accessKey && settings.secretKey ? 'access-key' : 'iam';
}

/** Maps GitLab's ServerSideEncryption spellings to the S3 header value; `undefined` for none/unknown. */
export function resolveS3Encryption(value: string | undefined): ServerSideEncryption | 'unknown' | undefined {
  switch ((value ?? '').toUpperCase()) {
    case '':
      return undefined;
    case 'S3':
    case 'AES256':
      return 'AES256';
    case 'KMS':
    case 'AWS:KMS':
      return 'aws:kms';
    case 'DSSE-KMS':
    case 'AWS:KMS:DSSE':
      return 'aws:kms:dsse';
    default:
      return 'unknown';
  }
}

function pathStyleFor(settings: S3CacheSettings): boolean {
  if (settings.pathStyle !== undefined) return settings.pathStyle;
  const address = settings.serverAddress ?? '';
  if (address === '') return false;
  const host = address.replace(/:\d+$/, '').toLowerCase();
  return !/(^|\.)(amazonaws\.com(\.cn)?|aliyuncs\.com|storage\.googleapis\.com)$/.test(host);
}

/**
 * An S3 (or S3-compatible) cache: presigned GET, HEAD and PUT URLs from the AWS SDK's presigner.
 * Loads only the AWS SDK.
 */
export function createS3Cache(settings: S3CacheSettings): CacheAdapter {
  if (!settings.bucketName) throw new CacheConfigError('CACHE_CONFIG_INVALID', 'S3 cache: BucketName is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(settings.serverAddress ?? '')) {
    throw new CacheConfigError(
      'CACHE_CONFIG_INVALID',
      'S3 cache: ServerAddress must be host[:port] without a scheme (use Insecure for http)',
    );
  }
  const authentication = resolveS3AuthenticationType(settings);
  let credentials: S3Credentials;
  if (authentication === 'access-key') {
    if (!settings.accessKey || !settings.secretKey) {
      throw new CacheConfigError(
        'CACHE_CREDENTIALS_MISSING',
        'S3 cache: access-key authentication needs AccessKey and SecretKey',
      );
    }
    credentials = {
      accessKeyId: settings.accessKey,
      secretAccessKey: settings.secretKey,
      ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    };
  } else {
    if (settings.iamCredentials === undefined) {
      throw new CacheConfigError(
        'CACHE_CREDENTIALS_MISSING',
        'S3 cache: IAM authentication needs the runner to pass iamCredentials (an instance-profile provider)',
      );
    }
    credentials = settings.iamCredentials;
  }
  let encryption = resolveS3Encryption(settings.serverSideEncryption);
  if (encryption === 'unknown') {
    settings.onWarning?.(
      `unknown ServerSideEncryption ${JSON.stringify(settings.serverSideEncryption)}: no encryption is used`,
    );
    encryption = undefined;
  }
  const serverAddress = settings.serverAddress ?? '';
  const client = new S3Client({
    region: settings.bucketLocation || 'us-east-1',
    credentials,
    forcePathStyle: pathStyleFor(settings),
    // Presigned URLs must not carry a checksum of an empty body.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(serverAddress !== ''
      ? { endpoint: `${settings.insecure ? 'http' : 'https'}://${serverAddress}` }
      : { useDualstackEndpoint: settings.dualStack ?? true, useAccelerateEndpoint: settings.accelerate ?? false }),
  });
  const bucket = settings.bucketName;
  const kmsKeyId =
    encryption === 'aws:kms' || encryption === 'aws:kms:dsse'
      ? settings.serverSideEncryptionKeyId || undefined
      : undefined;

  async function presign(
    method: PresignedRequest['method'],
    command: GetObjectCommand | HeadObjectCommand | PutObjectCommand,
    expiresIn: number,
    headers: Record<string, string>,
  ): Promise<PresignedRequest> {
    const url = await getSignedUrl(client, command, { expiresIn });
    return { method, url: new URL(url), headers, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  return {
    kind: 's3',
    async getDownload(object: CacheObjectRequest): Promise<CacheDownload> {
      const expiresIn = object.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
      const input = { Bucket: bucket, Key: object.name };
      return {
        type: 'url',
        get: await presign('GET', new GetObjectCommand(input), expiresIn, {}),
        head: await presign('HEAD', new HeadObjectCommand(input), expiresIn, {}),
      };
    },
    async getUpload(object: CacheUploadRequest): Promise<CacheUpload> {
      const expiresIn = object.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
      // Encryption headers are signed (not hoisted into the query): the uploader must send them as given.
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (encryption !== undefined) headers['x-amz-server-side-encryption'] = encryption;
      if (kmsKeyId !== undefined) headers['x-amz-server-side-encryption-aws-kms-key-id'] = kmsKeyId;
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: object.name,
        ...(encryption !== undefined ? { ServerSideEncryption: encryption } : {}),
        ...(kmsKeyId !== undefined ? { SSEKMSKeyId: kmsKeyId } : {}),
        ...(object.humanKey !== undefined ? { Metadata: { cachekey: object.humanKey } } : {}),
      });
      return {
        type: 'url',
        put: await presign('PUT', command, expiresIn, headers),
        ...(settings.maxUploadedArchiveSize ? { maxSize: settings.maxUploadedArchiveSize } : {}),
      };
    },
  };
}
