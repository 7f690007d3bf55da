export { createDockerClient, DockerClient } from './client.js';
export type { ArchiveOptions, AttachOptions, CreateContainerOptions, LogsOptions } from './endpoints/containers.js';
export { ContainerEndpoints, decodePathStat } from './endpoints/containers.js';
export type { ExecStartOptions } from './endpoints/exec.js';
export { ExecEndpoints } from './endpoints/exec.js';
export type { ImportOptions, LoadOptions, PullOptions } from './endpoints/images.js';
export { encodeRegistryAuth, ImageEndpoints, splitReference } from './endpoints/images.js';
export { NetworkEndpoints } from './endpoints/networks.js';
export type { EventsOptions } from './endpoints/system.js';
export { SystemEndpoints } from './endpoints/system.js';
export { VolumeEndpoints } from './endpoints/volumes.js';
export {
  AbortedError,
  ApiVersionError,
  BadParameterError,
  ClientClosedError,
  ConflictError,
  DaemonError,
  DaemonUnavailableError,
  DockerError,
  type DockerErrorCode,
  type DockerErrorDetails,
  ForbiddenError,
  ImageNotFoundError,
  InvalidOptionsError,
  NotFoundError,
  ProtocolError,
  StreamError,
  TimeoutError,
  UnauthorizedError,
  UnexpectedStatusError,
} from './errors.js';
export {
  type Demultiplexed,
  demultiplex,
  demultiplexTo,
  encodeFrame,
  FrameParser,
  type OutputChunk,
  readFrames,
  type StreamKind,
  type StreamMode,
} from './stream/demux.js';
export { readJsonLines } from './stream/json-lines.js';
export { AttachedSession, OutputStream } from './stream/output.js';
export {
  type CallOptions,
  type DockerClientOptions,
  type DockerTlsOptions,
  MAX_API_VERSION,
  MIN_API_VERSION,
  negotiateVersion,
  Transport,
} from './transport.js';
export type * from './types.js';
