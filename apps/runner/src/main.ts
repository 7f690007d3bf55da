import { Command } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { processIo, registerConfigCommand } from './commands/config.js';
import { registerCoordinatorCommand } from './commands/coordinator.js';
import { registerExecCommand } from './commands/exec.js';
import { registerRunCommand } from './commands/run.js';
import { registerRegisterCommand } from './commands/register.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerUnregisterCommand } from './commands/unregister.js';
import { registerListCommand } from './commands/list.js';
import { registerCleanupCommand } from './commands/cleanup.js';
import { addLogOptions } from './output/logger.js';

/** Builds the `runnerkit` command tree. Each command lives in `commands/<name>.ts` and only wires packages. */
export function createProgram(): Command {
  const program = new Command();
  const io = processIo();
  program
    .name('runnerkit')
    .description('A GitLab Runner compatible CI job runner')
    .version(packageJson.version, '-v, --version');
  registerConfigCommand(program, io);
  registerRunCommand(program, io);
  registerCoordinatorCommand(program, io);
  registerExecCommand(program, io);
  addLogOptions(program);
  registerRegisterCommand(program, io);
  registerVerifyCommand(program, io);
  registerUnregisterCommand(program, io);
  registerListCommand(program, io);
  registerCleanupCommand(program, io);
  return program;
}

await createProgram().parseAsync(process.argv);
