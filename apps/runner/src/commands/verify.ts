// `runnerkit verify [--delete]`: checks every (or the selected) runner of config.toml with POST /runners/verify, as
// GitLab Runner does; with --delete, runners GitLab answers 403 for are cut out of the file.
import { isCreatedRunnerToken, JobApiError } from '@runnerkit/job-api-client';
import type { Command } from 'commander';
import type { Logger } from '../output/logger.js';
import { createRunnerClient } from '../api-client.js';
import { loadOrCreateSystemId } from '../system-id.js';
import { defaultConfigPath, processIo } from './config.js';
import {
  logApiEvents,
  loadConfigFile,
  RunnerCommandError,
  type RunnerCommandIo,
  runCommand,
  runnerField,
  saveConfigFile,
} from './register.js';
import { removeRunnerBlocks } from './unregister.js';

export interface VerifySettings {
  configFile: string;
  name?: string | undefined;
  url?: string | undefined;
  token?: string | undefined;
  delete: boolean;
}

export async function verifyRunners(settings: VerifySettings, io: RunnerCommandIo, logger: Logger): Promise<number> {
  const loaded = await loadConfigFile(settings.configFile);
  const runners = loaded.config.runners ?? [];
  const systemId = await loadOrCreateSystemId(settings.configFile, io.machineId);
  const hasSelector = Boolean(settings.name || settings.url || settings.token);
  const removed: number[] = [];
  let selected = 0;
  for (const [index, runner] of runners.entries()) {
    const matches =
      !hasSelector ||
      (settings.name !== undefined && runner.name === settings.name) ||
      ((settings.url !== undefined || settings.token !== undefined) &&
        (settings.url === undefined || runner.url === settings.url) &&
        (settings.token === undefined || runner.token === settings.token));
    if (!matches) continue;
    selected++;
    const token = runner.token ?? '';
    const fields = { runner: runnerField(runner) };
    const client = createRunnerClient(runner, { onEvent: logApiEvents(logger) });
    try {
      await client.verify({ token, systemId });
      logger.info(fields, `Verifying runner... ${isCreatedRunnerToken(token) ? 'is valid' : 'is alive'}`);
    } catch (error) {
      if (JobApiError.isInstance(error) && error.code === 'JOB_API_FORBIDDEN') {
        if (isCreatedRunnerToken(token)) logger.info(fields, 'Verifying runner... is not valid');
        else logger.error({ ...fields, status: '403 Forbidden' }, 'Verifying runner... is removed');
        removed.push(index);
      } else {
        logger.error({ ...fields, error: (error as Error).message }, 'Verifying runner... failed');
      }
    } finally {
      await client.close();
    }
  }
  if (hasSelector && selected === 0) {
    throw new RunnerCommandError('RUNNER_NO_MATCHING_RUNNER', 'no runner matches the filtering parameters');
  }
  if (removed.length === 0) return 0;
  if (!settings.delete) throw new RunnerCommandError('RUNNER_VERIFY_FAILED', 'Failed to verify runners');
  await saveConfigFile(settings.configFile, removeRunnerBlocks(loaded.text, removed));
  logger.info(`Updated ${settings.configFile}`);
  return 0;
}

/** `runnerkit verify`. --url and --token deliberately read no environment variable (as GitLab Runner 19.4). */
export function registerVerifyCommand(program: Command, io: RunnerCommandIo = processIo()): Command {
  const command = program
    .command('verify')
    .description('verify all registered runners')
    .option('-c, --config <file>', 'config file (env CONFIG_FILE)')
    .option('-n, --name <name>', 'name of the runner you wish to verify')
    .option('-u, --url <url>', 'GitLab instance URL')
    .option('-t, --token <token>', 'runner token')
    .option('--delete', 'delete no longer existing runners');
  command.action(
    async (options: { config?: string; name?: string; url?: string; token?: string; delete?: boolean }) => {
      await runCommand(command, io, (logger) =>
        verifyRunners(
          {
            configFile: defaultConfigPath(io, options.config),
            name: options.name,
            url: options.url,
            token: options.token,
            delete: options.delete === true,
          },
          io,
          logger,
        ),
      );
    },
  );
  return command;
}
