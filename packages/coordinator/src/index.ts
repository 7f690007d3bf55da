export {
  type Coordinator,
  type CoordinatorOptions,
  createCoordinator,
  startCoordinator,
} from './coordinator.js';
export type { NewJobOptions, NewRunnerOptions } from './core.js';
export { CoordinatorError, type CoordinatorErrorCode } from './errors.js';
export { ENDPOINTS, type Endpoint, type Fault, type RecordedRequest } from './faults.js';
export type { ArtifactView, JobView, PipelineView, RunnerView } from './views.js';
