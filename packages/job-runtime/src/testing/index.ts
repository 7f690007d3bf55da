// @runnerkit/job-runtime/testing: the executor conformance suite and the scripted executor.
export {
  type ConformanceCase,
  type ConformanceOptions,
  conformancePayload,
  describeExecutorConformance,
  MemoryTraceSink,
  type ObservedRun,
  runObserved,
} from './conformance.js';
export {
  createScriptedExecutor,
  emulateCommands,
  type ScriptedBehaviour,
  type ScriptedCall,
  type ScriptedExecutor,
  type ScriptedExecutorSettings,
  type ScriptedStage,
} from './scripted-executor.js';
