// `runnerkit list`: the runners of config.toml, one log line each, as GitLab Runner prints them — except that the
// token is shown in its short display form, never whole.
import type { Command } from 'commander';
import type { Logger } from '../output/logger.js';
import { defaultConfigPath, processIo } from './config.js';
import { loadConfigFile, type RunnerCommandIo, runCommand, runnerField } from './register.js';

export async function listRunners(configFile: string, logger: Logger): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    loaded = await loadConfigFile(configFile);
  } catch (error) {
    logger.warn((error as Error).message);
    return 1;
  }
  logger.info({ ConfigFile: configFile }, 'Listing configured runners');
  for (const runner of loaded.config.runners ?? []) {
    logger.info(
      { Executor: runner.executor ?? '', Token: runnerField(runner), URL: runner.url ?? '' },
      runner.name ?? '',
    );
  }
  return 0;
}

export function registerListCommand(program: Command, io: RunnerCommandIo = processIo()): Command {
  const command = program
    .command('list')
    .description('List all configured runners')
    .option('-c, --config <file>', 'config file (env CONFIG_FILE)');
  command.action(async (options: { config?: string }) => {
    await runCommand(command, io, (logger) => listRunners(defaultConfigPath(io, options.config), logger));
  });
  return command;
}
