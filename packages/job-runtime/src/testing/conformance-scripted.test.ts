import { describeExecutorConformance } from './conformance.js';
import { createScriptedExecutor } from './scripted-executor.js';

// The suite on the scripted executor checks the runtime's side of the contract (sequencing, timeouts, cancel,
// masking, after_script); the commands are emulated, not run by a shell.
describeExecutorConformance({ name: 'scripted', createExecutor: () => createScriptedExecutor() });
