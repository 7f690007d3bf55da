import type { StageHandlers } from '@runnerkit/job-runtime';
import type { DockerJobState } from './executor.js';

export function createFileStages(getState: () => DockerJobState): StageHandlers {
  void getState;
  return {};
}
