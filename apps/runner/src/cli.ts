// The `runnerkit` command tree. Start-up time is part of every `runnerkit exec`, so the command tree is built from
// this light table and only the module of the command being run is loaded (with its packages: Docker, SSH, the
// coordinator, cloud SDKs); `--help` and `--version` load none of them.
import { Command } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { addLogOptions } from './output/log-flags.js';

/** What a command module gives: a function that adds the command (with its flags and action) to the program. */
type Registrar = (program: Command) => unknown;

interface CommandEntry {
  description: string;
  load: () => Promise<Registrar>;
}

/** Every command, in `--help` order. The descriptions repeat the ones in the command files (checked by a test). */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  config: {
    description: 'Check and print config.toml',
    load: async () => {
      const { processIo, registerConfigCommand } = await import('./commands/config.js');
      return (program) => registerConfigCommand(program, processIo());
    },
  },
  run: {
    description: 'Run every [[runners]] entry of config.toml: poll GitLab for jobs and run them',
    load: async () => (await import('./commands/run.js')).registerRunCommand,
  },
  coordinator: {
    description: 'Start the embedded fake GitLab (runner API, admin API under /-/) until SIGTERM or SIGINT',
    load: async () => (await import('./commands/coordinator.js')).registerCoordinatorCommand,
  },
  exec: {
    description: 'Run the local .gitlab-ci.yml (working tree as it is) through the embedded coordinator',
    load: async () => (await import('./commands/exec.js')).registerExecCommand,
  },
  register: {
    description: 'register a new runner',
    load: async () => (await import('./commands/register.js')).registerRegisterCommand,
  },
  verify: {
    description: 'verify all registered runners',
    load: async () => (await import('./commands/verify.js')).registerVerifyCommand,
  },
  unregister: {
    description: 'unregister specific runner',
    load: async () => (await import('./commands/unregister.js')).registerUnregisterCommand,
  },
  list: {
    description: 'List all configured runners',
    load: async () => (await import('./commands/list.js')).registerListCommand,
  },
  cleanup: {
    description: 'remove unused runner-managed Docker containers, images, networks and volumes (clear-docker-cache)',
    load: async () => (await import('./commands/cleanup.js')).registerCleanupCommand,
  },
};

/** Global options that take a value (so the word after them is not the command name). */
const VALUE_OPTIONS = new Set(['-l', '--log-level', '--log-format']);

/** The command named on the command line (`help run` names `run`), or undefined. */
export function requestedCommand(args: readonly string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (VALUE_OPTIONS.has(arg)) {
      index++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (arg === 'help') return args.slice(index + 1).find((next) => !next.startsWith('-'));
    return arg;
  }
  return undefined;
}

/**
 * Builds the `runnerkit` command tree: the named command for real (its module loaded), every other one as a
 * description for `--help`.
 */
export async function createProgram(args: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('runnerkit')
    .description('A GitLab Runner compatible CI job runner')
    .version(packageJson.version, '-v, --version');
  addLogOptions(program);
  const wanted = requestedCommand(args);
  for (const [name, entry] of Object.entries(COMMANDS)) {
    if (name === wanted) (await entry.load())(program);
    else program.command(name).description(entry.description);
  }
  return program;
}
