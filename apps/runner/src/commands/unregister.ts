// `runnerkit unregister --name / --token / --all-runners`: as GitLab Runner, a glrt- runner only loses this machine's
// runner manager (DELETE /runners/managers); any other token deletes the runner (DELETE /runners). The removed
// [[runners]] blocks are cut out of config.toml surgically (config-toml.md §8.4): nothing else in the file changes.
import type { RunnerConfig } from '@runnerkit/config-schema';
import { validateConfig } from '@runnerkit/config-schema';
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

interface Header {
  line: number;
  /** `[[runners]]` itself. */
  runner: boolean;
  /** A table of a runner (`[runners.docker]`, `[[runners.docker.services]]`). */
  runnerChild: boolean;
}

function headerKey(raw: string): string[] {
  return raw.split('.').map((part) => part.trim().replace(/^"(.*)"$|^'(.*)'$/, '$1$2'));
}

/** Table headers outside multi-line strings. */
function headers(lines: readonly string[]): Header[] {
  const out: Header[] = [];
  let open: '"""' | "'''" | undefined;
  lines.forEach((line, index) => {
    if (open === undefined) {
      const array = /^\s*\[\[([^[\]]+)\]\]\s*(#.*)?$/.exec(line);
      const table = array ? undefined : /^\s*\[([^[\]]+)\]\s*(#.*)?$/.exec(line);
      const match = array ?? table;
      if (match) {
        const key = headerKey(match[1] as string);
        const first = (key[0] ?? '').toLowerCase() === 'runners';
        out.push({
          line: index,
          runner: Boolean(array) && first && key.length === 1,
          runnerChild: first && key.length > 1,
        });
        return;
      }
    }
    for (const quote of ['"""', "'''"] as const) {
      if (open !== undefined && open !== quote) continue;
      const count = line.split(quote).length - 1;
      if (count % 2 === 1) open = open === undefined ? quote : undefined;
    }
  });
  return out;
}

/**
 * Removes the `[[runners]]` blocks at `indexes` (0-based, as in the parsed config) from config.toml text: each from
 * its header to the next top-level header or the end of the file, sub-tables included. Throws when the file defines
 * its runners in a way this cannot cut (inline arrays) — checked by re-parsing.
 */
export function removeRunnerBlocks(text: string, indexes: readonly number[]): string {
  if (indexes.length === 0) return text;
  const before = validateConfig(text);
  const lines = text.split(/(?<=\n)/);
  const found = headers(lines.map((line) => line.replace(/\r?\n$/, '')));
  const blocks: Array<{ start: number; end: number }> = [];
  found.forEach((header, position) => {
    if (!header.runner) return;
    let end = lines.length;
    for (const next of found.slice(position + 1)) {
      if (!next.runnerChild) {
        end = next.line;
        break;
      }
    }
    blocks.push({ start: header.line, end });
  });
  const remove = new Set<number>();
  for (const index of indexes) {
    const block = blocks[index];
    if (!block) {
      throw new RunnerCommandError(
        'RUNNER_CONFIG_UNWRITABLE',
        `cannot find the [[runners]] header of runner ${index + 1} (are its runners written inline?)`,
      );
    }
    for (let line = block.start; line < block.end; line++) remove.add(line);
  }
  const result = lines.filter((_line, index) => !remove.has(index)).join('');
  const after = validateConfig(result);
  const expected = (before.config?.runners ?? []).filter((_runner, index) => !indexes.includes(index));
  if (!after.ok || JSON.stringify(after.config.runners ?? []) !== JSON.stringify(expected)) {
    throw new RunnerCommandError(
      'RUNNER_CONFIG_UNWRITABLE',
      'cannot remove the runner from the config file without rewriting it (are its runners written inline?)',
    );
  }
  return result;
}

function sameCredentials(a: Pick<RunnerConfig, 'url' | 'token'>, b: Pick<RunnerConfig, 'url' | 'token'>): boolean {
  return a.url === b.url && a.token === b.token;
}

export interface UnregisterSettings {
  configFile: string;
  name?: string | undefined;
  token?: string | undefined;
  /** Accepted for GitLab compatibility (its credentials carry a URL); runners are chosen by name and token. */
  url?: string | undefined;
  allRunners: boolean;
}

/** Unregisters from GitLab as GitLab Runner does; true when GitLab answered 204. */
async function unregisterOne(runner: RunnerConfig, systemId: string, logger: Logger): Promise<boolean> {
  const token = runner.token ?? '';
  const client = createRunnerClient(runner, { onEvent: logApiEvents(logger) });
  const what = token.startsWith('glrt-')
    ? 'Unregistering runner manager from GitLab'
    : 'Unregistering runner from GitLab';
  try {
    await client.unregister({ token, systemId });
    logger.info({ runner: runnerField(runner) }, `${what} succeeded`);
    return true;
  } catch (error) {
    const status = (error as { status?: number }).status;
    logger.error(
      { runner: runnerField(runner), ...(status ? { status } : {}) },
      `${what} failed: ${(error as Error).message}`,
    );
    return false;
  } finally {
    await client.close();
  }
}

export async function unregisterRunners(
  settings: UnregisterSettings,
  io: RunnerCommandIo,
  logger: Logger,
): Promise<number> {
  const loaded = await loadConfigFile(settings.configFile);
  const runners = loaded.config.runners ?? [];
  const systemId = await loadOrCreateSystemId(settings.configFile, io.machineId);
  const removed: number[] = [];
  let exitCode = 0;
  if (settings.allRunners) {
    logger.warn('Unregistering all runners');
    let failed = false;
    for (const [index, runner] of runners.entries()) {
      if (await unregisterOne(runner, systemId, logger)) removed.push(index);
      else failed = true;
    }
    if (failed) logger.error('Failed to unregister runners');
  } else {
    const { name, token } = settings;
    if (!name && !token) {
      throw new RunnerCommandError('RUNNER_NO_MATCHING_RUNNER', 'at least one of --name or --token must be specified');
    }
    const target = runners.find((runner) => (!name || runner.name === name) && (!token || runner.token === token));
    if (!target) {
      const what =
        name && token ? `the name '${name}' and the given token` : name ? `the name '${name}'` : 'the given token';
      throw new RunnerCommandError('RUNNER_NO_MATCHING_RUNNER', `could not find a runner with ${what}`);
    }
    if (!(await unregisterOne(target, systemId, logger))) {
      throw new RunnerCommandError('RUNNER_UNREGISTER_FAILED', `failed to unregister runner "${target.name ?? ''}"`);
    }
    runners.forEach((runner, index) => {
      if (sameCredentials(runner, target)) removed.push(index);
    });
  }
  if (removed.length === 0) return exitCode;
  await saveConfigFile(settings.configFile, removeRunnerBlocks(loaded.text, removed));
  logger.info(`Updated ${settings.configFile}`);
  exitCode = 0;
  return exitCode;
}

/** `runnerkit unregister`. */
export function registerUnregisterCommand(program: Command, io: RunnerCommandIo = processIo()): Command {
  const command = program
    .command('unregister')
    .description('unregister specific runner')
    .option('-c, --config <file>', 'config file (env CONFIG_FILE)')
    .option('-n, --name <name>', 'name of the runner you wish to unregister')
    .option('-t, --token <token>', "runner's authentication token (env CI_SERVER_TOKEN)")
    .option('-u, --url <url>', 'GitLab instance URL (env CI_SERVER_URL)')
    .option('--all-runners', 'unregister all runners');
  command.action(
    async (options: { config?: string; name?: string; token?: string; url?: string; allRunners?: boolean }) => {
      await runCommand(command, io, (logger) =>
        unregisterRunners(
          {
            configFile: defaultConfigPath(io, options.config),
            name: options.name,
            token: options.token ?? (io.env.CI_SERVER_TOKEN || undefined),
            url: options.url ?? (io.env.CI_SERVER_URL || undefined),
            allRunners: options.allRunners === true,
          },
          io,
          logger,
        ),
      );
    },
  );
  return command;
}
