// @runnerkit/executor-docker: GitLab Runner's Docker executor without a helper image.
export { createDockerExecutor, type DockerJobState, type JobResources } from './executor.js';
export type { DockerExecutorOptions } from './options.js';
export { DockerConfigurationError, DockerExecutorError, type DockerExecutorErrorCode } from './errors.js';
export {
  cacheVolumeName,
  jobLabels,
  LABEL_PREFIX,
  MANAGED_LABEL,
  OWNER_LABEL,
  projectRealUniqueName,
  projectUniqueName,
  projectUniqueShortName,
} from './naming.js';
export {
  type AbandonedResourcesOptions,
  type AbandonedResourcesReport,
  type CleanupMode,
  type CleanupOptions,
  type CleanupReport,
  cleanupDockerResources,
  removeAbandonedResources,
} from './cleanup.js';
export { repositoryAccess } from './git.js';
export { directoryTar, type DirectoryTarOptions, type Ownership } from './tar.js';
