export {
  createJobApiClient,
  type JobApiClient,
  type JobApiClientOptions,
  type JobRequestResult,
  type RequestJobOptions,
} from './client.js';
export {
  artifactFilename,
  type ArtifactFormat,
  type DownloadArtifactOptions,
  type DownloadArtifactResult,
  type DownloadedFormat,
  detectArtifactFormat,
  type UploadArtifactOptions,
  type UploadArtifactResult,
} from './artifacts.js';
export {
  type ArtifactStoreUpload,
  createJobArtifactStore,
  type JobArtifactStore,
  type JobArtifactStoreOptions,
} from './artifact-store.js';
export { JobApiError, type JobApiErrorCode, JobPayloadError, type JobPayloadIssue } from './errors.js';
export { type HealthOptions, type HealthState, HealthTracker } from './health.js';
export {
  type AcknowledgeResult,
  type FinalJobState,
  type FinishResult,
  JobSession,
  type JobSessionEvents,
  type JobSessionOptions,
} from './job-session.js';
export { contentRange, MAX_TRACE_PATCH_BYTES, rangeEnd } from './job-updates.js';
export { maskToken, redact } from './mask.js';
export { debugTraceEnabled, type JobPayload, type ParseJobResult, parseJob } from './payload.js';
export {
  BASE_FEATURES,
  buildRunnerInfo,
  FEATURE_KEYS,
  type FeatureKey,
  goArchitecture,
  goPlatform,
  type RunnerFeatures,
  type RunnerInfo,
  type RunnerInfoOptions,
} from './runner-info.js';
export {
  isCreatedRunnerToken,
  type RegisterOptions,
  type RunnerCredentials,
  tokenRotationDue,
  type VerifyResult,
} from './runners.js';
export { createSystemId, isValidSystemId, SYSTEM_ID_PATTERN } from './system-id.js';
export { TraceBuffer } from './trace-buffer.js';
export { TraceSpool, type TraceSpoolFallback, type TraceSpoolOptions, type TraceStore } from './trace-spool.js';
export {
  apiRoot,
  backoffDelay,
  type Clock,
  isRetryableStatus,
  type JobApiEvent,
  type RetryOptions,
  retryDelayMs,
  systemClock,
  type TlsOptions,
} from './transport.js';
