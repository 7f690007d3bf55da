// @runnerkit/job-runtime: the executor contract, job variables, bash/sh scripts, the masked trace and the
// stage sequence every executor shares.
export {
  type ArtifactStore,
  type ArtifactUpload,
  type ByteSource,
  type CacheEntry,
  type CacheStore,
  type Executor,
  type ExecutorDirectories,
  type JobContext,
  type JobDirectories,
  type JobLog,
  type PrepareRequest,
  type RunRequest,
  type RunResult,
  type RuntimePorts,
  type ShellName,
  type StageHandlerContext,
  type StageHandlers,
  type StageName,
  type StageOutput,
  type TraceSink,
  STAGE_ORDER,
  isPredefinedStage,
} from './executor/contract.js';
export {
  ExecutorError,
  InvalidJobError,
  RuntimeError,
  type RuntimeErrorCode,
  type RuntimeFailureReason,
  ShellNotSupportedError,
  StageFailedError,
} from './errors.js';
export type { RuntimeJobPayload } from './job/payload.js';
export { quote, quoteAnsiC, quotePosix, type QuoteStyle } from './shell/quote.js';
export {
  afterScript,
  cleanupScript,
  type GetSourcesOptions,
  getSourcesScript,
  type GitStrategy,
  prepareScript,
  type ScriptJob,
  type StepScriptOptions,
  stepScript,
  type SubmoduleStrategy,
  writeExports,
} from './shell/stages.js';
export { ANSI, type ScriptStyle, ScriptWriter, shellDetectionScript } from './shell/writer.js';
export { createMasker, MASKED, type MaskingOptions, type StreamMasker } from './trace/masker.js';
export { formatTimestamp, type TraceSummary, TraceWriter, type TraceWriterOptions } from './trace/writer.js';
export { FEATURE_FLAG_DEFAULTS, resolveFeatureFlags } from './variables/feature-flags.js';
export { type JobVariable, JobVariables } from './variables/variables.js';
export { createShellExecutor, type ShellExecutorSettings } from './executors/shell.js';
export {
  formatGoDuration,
  jobDirectories,
  parseGoDuration,
  projectSlug,
  shortToken,
} from './job/identifiers.js';
export {
  type JobOutcome,
  type JobResult,
  type RunJobOptions,
  RunnerInterrupt,
  type RunnerSettings,
  type RuntimeEvent,
  runJob,
} from './job/run-job.js';
export { assertSupportedShell } from './shell/supported.js';
export * from './supervisor/index.js';
