// `runnerkit exec [JOB…]`: runs the local .gitlab-ci.yml through the embedded coordinator and the same job path
// as `run`, on a snapshot of the working tree.
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import {
  type Config,
  ConfigSchemaError,
  type ConfigValidationError,
  parseConfig,
  type RunnerConfig,
  sortIssues,
} from '@runnerkit/config-schema';
import type { CallerVariable } from '@runnerkit/pipeline';
import type { Command } from 'commander';
import { PipelineCompileError, localRunnerToken, runLocalPipeline } from '../exec/run-pipeline.js';
import { JobSelectionError } from '../exec/select.js';
import { snapshotWorkingTree } from '../exec/snapshot.js';
import { logCliOptions } from '../output/logger.js';
import { createRunnerLog, type RunnerLog } from '../runner-log.js';
import { loadOrCreateSystemId } from '../system-id.js';
import { executorFactory, type WiringContext } from '../wiring.js';
import { type ConfigCommandIo, formatIssueLine, processIo } from './config.js';

export interface ExecOptions {
  needs?: boolean;
  file?: string;
  cwd?: string;
  variable?: string[];
  config?: string;
  runner?: string;
  concurrency?: string;
  executor?: string;
  /** The global --debug / --log-level / --log-format. */
  log?: import('../output/logger.js').LogCliOptions;
}

/** Where exec keeps its own state (system id, shell executor builds and caches) when no config is given. */
export function execStateDir(io: Pick<ConfigCommandIo, 'env' | 'homedir'>): string {
  const base = io.env.XDG_CACHE_HOME || join(io.homedir, '.cache');
  return join(base, 'runnerkit', 'exec');
}

/** The built-in runner: Docker on the local socket, the YAML's images, pull policy if-not-present, /cache kept. */
export function defaultExecRunner(executor: string, stateDir: string): RunnerConfig {
  const runner: RunnerConfig = { name: 'runnerkit-exec', executor: executor as RunnerConfig['executor'] };
  // volumes = ["/cache"], as `gitlab-runner register` writes it: the cache survives in a named volume.
  if (executor === 'docker') runner.docker = { pull_policy: ['if-not-present'], volumes: ['/cache'] };
  if (executor === 'shell') {
    runner.builds_dir = join(stateDir, 'builds');
    runner.cache_dir = join(stateDir, 'cache');
  }
  return runner;
}

function parseVariables(values: readonly string[]): CallerVariable[] {
  return values.map((entry) => {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`--variable expects KEY=VALUE, got "${entry}"`);
    return { key: entry.slice(0, at), value: entry.slice(at + 1) };
  });
}

async function loadRunner(
  io: ConfigCommandIo,
  options: ExecOptions,
): Promise<{ runner: RunnerConfig; config?: Config }> {
  const stateDir = execStateDir(io);
  if (!options.config) return { runner: defaultExecRunner(options.executor ?? 'docker', stateDir) };
  const file = isAbsolute(options.config) ? options.config : resolve(io.cwd, options.config);
  const text = await readFile(file, 'utf8');
  let config: Config;
  try {
    ({ config } = parseConfig(text, { source: file }));
  } catch (error) {
    if (ConfigSchemaError.isInstance(error) && 'issues' in error)
      for (const issue of sortIssues([...(error as ConfigValidationError).issues]))
        if (issue.severity === 'error') io.stderr.write(`${formatIssueLine(file, issue)}\n`);
    throw new Error(`${file}: the config file is not valid`);
  }
  const runners = config.runners ?? [];
  const chosen = options.runner ? runners.find((runner) => runner.name === options.runner) : runners[0];
  if (!chosen) {
    throw new Error(
      options.runner
        ? `${file}: no [[runners]] entry named "${options.runner}"`
        : `${file}: no [[runners]] entry to take the executor settings from`,
    );
  }
  // Only the executor settings count: url and token belong to the real GitLab.
  const { url: _url, token: _token, id: _id, ...settings } = chosen;
  const runner: RunnerConfig = { ...settings };
  if (options.executor) runner.executor = options.executor as RunnerConfig['executor'];
  if (runner.executor === 'docker' && !runner.docker) runner.docker = { pull_policy: ['if-not-present'] };
  return { runner, config };
}

export async function execPipeline(
  jobNames: readonly string[],
  options: ExecOptions,
  io: ConfigCommandIo,
): Promise<number> {
  let log: RunnerLog;
  try {
    log = createRunnerLog({ stream: io.stderr, cli: options.log ?? {}, env: io.env, defaultLevel: 'warn' });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (options.executor && !['docker', 'ssh', 'shell'].includes(options.executor)) {
    io.stderr.write(`--executor must be docker, ssh or shell, got "${options.executor}"\n`);
    return 2;
  }
  const cwd = resolve(io.cwd, options.cwd ?? '.');
  const fileName = options.file ?? '.gitlab-ci.yml';
  let yaml: string;
  try {
    yaml = await readFile(resolve(cwd, fileName), 'utf8');
  } catch {
    io.stderr.write(`${resolve(cwd, fileName)}: no CI file to run (use --file or --cwd)\n`);
    return 2;
  }
  let variables: CallerVariable[];
  let loaded: Awaited<ReturnType<typeof loadRunner>>;
  try {
    variables = parseVariables(options.variable ?? []);
    loaded = await loadRunner(io, options);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const concurrency = options.concurrency
    ? Number(options.concurrency)
    : loaded.config?.concurrent && loaded.config.concurrent > 0
      ? loaded.config.concurrent
      : 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    io.stderr.write(`--concurrency must be a positive integer, got "${options.concurrency}"\n`);
    return 2;
  }
  // The snapshot's git processes run while the executor's modules load and its client is set up.
  const snapshotting = snapshotWorkingTree(cwd);
  snapshotting.catch(() => undefined);
  const stateDir = execStateDir(io);
  await mkdir(stateDir, { recursive: true });
  const context: WiringContext = {
    log,
    systemId: await loadOrCreateSystemId(join(stateDir, 'config.toml')),
    env: io.env,
    cwd,
    stateDir,
  };
  // The executor names its reusable volumes after the runner token (and system ID, project, concurrency): it must
  // get the local runner's stable token, the one the embedded coordinator is given below.
  const identity = localRunnerToken(cwd);
  const executor = await executorFactory({ ...loaded.runner, token: identity }, context);
  if (!executor.ok) {
    io.stderr.write(`${executor.message}\n`);
    await snapshotting.then((snapshot) => snapshot.remove()).catch(() => undefined);
    return 1;
  }
  const snapshot = await snapshotting;
  try {
    const color = (io.stdout as { isTTY?: boolean }).isTTY === true && !io.env.NO_COLOR;
    const result = await runLocalPipeline({
      snapshot,
      yaml,
      fileName,
      variables,
      jobNames,
      withNeeds: options.needs === true,
      concurrency,
      runner: loaded.runner,
      createExecutor: executor.create,
      context,
      identity,
      out: io.stdout,
      color,
    });
    io.stdout.write(`pipeline ${result.status}\n`);
    return result.status === 'success' ? 0 : 1;
  } catch (error) {
    if (error instanceof PipelineCompileError || error instanceof JobSelectionError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await snapshot.remove();
  }
}

export function registerExecCommand(program: Command, io: ConfigCommandIo = processIo()): void {
  program
    .command('exec')
    .description('Run the local .gitlab-ci.yml (working tree as it is) through the embedded coordinator')
    .argument('[jobs...]', 'run only these jobs (manual jobs run only when named)')
    .option('--needs', 'also run what the named jobs need')
    .option('--file <file>', 'the CI file, relative to --cwd', '.gitlab-ci.yml')
    .option('--cwd <dir>', 'the project directory (default: the current directory)')
    .option('--variable <KEY=VALUE>', 'a pipeline variable (repeatable)', (value: string, list: string[] = []) => [
      ...list,
      value,
    ])
    .option('-c, --config <file>', 'take the executor settings from this config.toml (never read otherwise)')
    .option('--runner <name>', 'with -c: the [[runners]] entry to use (default: the first)')
    .option('--concurrency <n>', "jobs at once (default: the config's concurrent, else 4)")
    .option('--executor <name>', "docker, ssh or shell (default: docker, or the config entry's)")
    .action(async (jobs: string[], options: ExecOptions, command: Command) => {
      const code = await execPipeline(jobs, { ...options, log: logCliOptions(command) }, io);
      io.setExitCode(code);
      process.exit(code);
    });
}
