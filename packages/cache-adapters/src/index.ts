export {
  type CacheAdapter,
  type CacheDownload,
  type CacheObjectRequest,
  type CacheObjectStream,
  type CacheUpload,
  type CacheUploadRequest,
  DEFAULT_URL_EXPIRY_SECONDS,
  type PresignedRequest,
} from './adapter.js';
export {
  ArchiveError,
  CacheAdapterError,
  CacheConfigError,
  type CacheErrorCode,
  CacheKeyError,
  CacheTransferError,
} from './errors.js';
export {
  type CacheContext,
  type CacheEntry,
  type CacheKeyCandidate,
  type CacheNotice,
  type CachePolicy,
  type CacheRestorePlan,
  type CacheSavePlan,
  type CacheWhen,
  cacheWhenApplies,
  hashCacheKey,
  isFallbackKeyAllowed,
  parseCachePolicy,
  planCacheRestore,
  planCacheSave,
  resolveCacheKey,
  type SanitizedCacheKey,
  sanitizeCacheKey,
  withProtectedSuffix,
} from './keys.js';
export { type CacheObjectNameInput, cacheObjectName, localCacheObjectName, shortenRunnerToken } from './object-name.js';
export { redactUrl } from './redact.js';
export { downloadCacheObject, type TransferOptions, uploadCacheFile } from './transfer.js';
export {
  type ArchiveVariables,
  type ArtifactArchiveKind,
  type ArtifactArchiveSettings,
  artifactArchiveSettings,
  type CacheArchiveKind,
  type CacheArchiveSettings,
  cacheArchiveSettings,
} from './archive-settings.js';
