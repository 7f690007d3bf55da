export { type CallerVariable, type CompilePipelineOptions, type CompileResult, compilePipeline } from './compile.js';
export {
  buildJobPayload,
  buildWireJobPayload,
  type DependencyJob,
  type JobPayloadContext,
} from './emit/build-job-payload.js';
export {
  formatIssue,
  GitFactsError,
  PIPELINE_ISSUE_CODES,
  PipelineConfigError,
  PipelineError,
  type PipelineErrorCode,
  type PipelineIssue,
  type PipelineIssueCode,
  SchedulerStateError,
} from './errors.js';
export { createGitRunner, type GitFacts, type GitRunner, readGitFacts, ZERO_SHA } from './git/read-git-facts.js';
export type { ListFiles, ReadFile } from './normalize/include.js';
export { DEFAULT_STAGES } from './normalize/normalize.js';
export type {
  CompiledPipeline,
  PipelineFacts,
  PlannedJob,
  PlannedNeed,
  PlannedWhen,
} from './plan/planned-job.js';
export { ExpressionError, type Expression, parseExpression } from './rules/expression.js';
export {
  createScheduler,
  type FinishOptions,
  type PipelineStatus,
  type Scheduler,
  type SchedulerJobState,
  type SchedulerJobStatus,
  type SchedulerOptions,
} from './scheduler/scheduler.js';
export type * from './types.js';
export { type PayloadVariable, type PipelineInfo, type ProjectInfo, slugify } from './variables/predefined.js';
