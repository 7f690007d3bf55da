import type { z } from 'zod';
import { bool, int, oneOf, str, table } from './types.js';

/** `[runners.cache]` and its s3/gcs/azure tables (§5.3): keys are CamelCase as GitLab writes them. */

export const s3Schema = table(
  {
    ServerAddress: str(),
    AccessKey: str(),
    SecretKey: str(),
    SessionToken: str(),
    BucketName: str(),
    BucketLocation: str(),
    Insecure: bool(),
    AuthenticationType: oneOf(['iam', 'access-key'], { caseInsensitive: true }),
    ServerSideEncryption: str(),
    ServerSideEncryptionKeyID: str(),
    DualStack: bool(),
    PathStyle: bool(),
    Accelerate: bool(),
    RoleARN: str(),
    UploadRoleARN: str(),
    AssumeRoleMaxConcurrency: int(),
    DisableAssumeRoleCredentialsCaching: bool(),
  },
  { UploadRoleARN: { status: 'deprecated', note: 'use RoleARN' } },
);

export const gcsSchema = table({
  AccessID: str(),
  PrivateKey: str(),
  CredentialsFile: str(),
  BucketName: str(),
  UniverseDomain: str(),
});

export const azureSchema = table({
  AccountName: str(),
  AccountKey: str(),
  ContainerName: str(),
  StorageDomain: str(),
});

const movedToS3 = {
  status: 'removed',
  note: 'moved to [runners.cache.s3] in 11.3 and no longer read since 12.0',
} as const;

export const cacheSchema = table(
  {
    Type: str(),
    Path: str(),
    Shared: bool(),
    MaxUploadedArchiveSize: int(),
    s3: s3Schema,
    gcs: gcsSchema,
    azure: azureSchema,
  },
  {
    ServerAddress: movedToS3,
    AccessKey: movedToS3,
    SecretKey: movedToS3,
    BucketName: movedToS3,
    BucketLocation: movedToS3,
    Insecure: movedToS3,
  },
);

export type CacheConfig = z.output<typeof cacheSchema>;
export type S3CacheConfig = z.output<typeof s3Schema>;
export type GcsCacheConfig = z.output<typeof gcsSchema>;
export type AzureCacheConfig = z.output<typeof azureSchema>;
