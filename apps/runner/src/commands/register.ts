// `runnerkit register`: GitLab Runner's register command — flags, environment variables, --template-config,
// interactive prompts — appending one [[runners]] block to config.toml through config-schema (the rest of the file
// stays byte for byte). Also the helpers verify/unregister/list share: config file I/O, the system ID, the client.
import { randomInt } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  appendRunner,
  type Config,
  ConfigValidationError,
  EXECUTORS,
  parseConfig,
  parseGoBool,
  type RunnerConfig,
  shortTokenForDisplay,
  validateConfig,
} from '@runnerkit/config-schema';
import {
  isCreatedRunnerToken,
  type JobApiClient,
  type JobApiEvent,
  type RunnerCredentials,
} from '@runnerkit/job-api-client';
import { type Command, Option } from 'commander';
import { createRunnerClient } from '../api-client.js';
import { createLogger, type Logger, logCliOptions, resolveLogSettings } from '../output/logger.js';
import { type ConfigCommandIo, defaultConfigPath, formatIssueLine, processIo } from './config.js';
import { type FlagKind, RUNNER_FLAGS } from './register-flags.js';
import { loadOrCreateSystemId } from '../system-id.js';

/** What the runner-management commands read and write; tests pass streams and a fake stdin. */
export interface RunnerCommandIo extends ConfigCommandIo {
  /** Answers to interactive prompts (default process.stdin). */
  stdin?: Readable;
  /** Host name used as the default runner name (default os.hostname()). */
  hostname?: string;
  /** Machine ID for the system ID (default /etc/machine-id). */
  machineId?: () => Promise<string | undefined>;
  /** Aborts a prompt as Ctrl-C does (default: the process's SIGINT while register is prompting). */
  interrupt?: AbortSignal;
}

export type RunnerCommandErrorCode =
  | 'RUNNER_CONFIG_INVALID'
  | 'RUNNER_CONFIG_UNREADABLE'
  | 'RUNNER_CONFIG_UNWRITABLE'
  | 'RUNNER_REGISTER_MISSING_VALUE'
  | 'RUNNER_REGISTER_INVALID_VALUE'
  | 'RUNNER_REGISTER_FAILED'
  | 'RUNNER_REGISTER_ABORTED'
  | 'RUNNER_NO_MATCHING_RUNNER'
  | 'RUNNER_VERIFY_FAILED'
  | 'RUNNER_UNREGISTER_FAILED'
  | 'RUNNER_CLEANUP_FAILED';

/** A command failed; the CLI logs `message` as FATAL and exits 1. */
export class RunnerCommandError extends Error {
  readonly code: RunnerCommandErrorCode;
  constructor(code: RunnerCommandErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunnerCommandError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// config.toml I/O shared by register, verify, unregister and list

export interface LoadedConfigFile {
  file: string;
  /** The text as read ('' when the file does not exist and `allowMissing`). */
  text: string;
  config: Config;
  exists: boolean;
}

/** Reads and validates config.toml; any error issue refuses the file (GitLab Runner refuses to load it too). */
export async function loadConfigFile(
  file: string,
  options: { allowMissing?: boolean } = {},
): Promise<LoadedConfigFile> {
  let text: string;
  let exists = true;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.allowMissing) {
      text = '';
      exists = false;
    } else {
      throw new RunnerCommandError(
        'RUNNER_CONFIG_UNREADABLE',
        `${file}: cannot read the config file (${code ?? error})`,
        {
          cause: error,
        },
      );
    }
  }
  try {
    return { file, text, config: parseConfig(text, { source: file }).config, exists };
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      const lines = error.issues
        .filter((issue) => issue.severity === 'error')
        .map((issue) => formatIssueLine(file, issue));
      throw new RunnerCommandError('RUNNER_CONFIG_INVALID', `${file} is not valid:\n${lines.join('\n')}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Atomic save as config-toml.md §8.4: directory 0700, file 0600, temp file in the same directory, then rename. */
export async function saveConfigFile(file: string, text: string): Promise<void> {
  const directory = dirname(file);
  const temporary = join(directory, `.${Date.now()}-${process.pid}-${randomInt(1e9)}.config.toml.tmp`);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await writeFile(temporary, text, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new RunnerCommandError('RUNNER_CONFIG_UNWRITABLE', `${file}: cannot save the config file (${error})`, {
      cause: error,
    });
  }
}

/** Job API client events as debug lines of a management command (warnings as warnings). */
export function logApiEvents(logger: Logger): (event: JobApiEvent) => void {
  return (event) => {
    if (event.type === 'warning') logger.warn(event.message);
    else if (event.type === 'request-end')
      logger.debug({ status: event.status, correlation_id: event.correlationId }, `${event.method} ${event.path}`);
  };
}

/** The logger of a management command: global flags, then LOG_* variables, then the config's log settings. */
export function commandLogger(
  command: Command,
  io: ConfigCommandIo,
  config: { log_level?: string | undefined; log_format?: string | undefined } = {},
): Logger {
  const settings = resolveLogSettings(logCliOptions(command), io.env, config);
  return createLogger({ format: settings.format, level: settings.level, stream: io.stderr });
}

/** Runs a command body: a RunnerCommandError (or any error) is logged as FATAL and the exit code set to 1. */
export async function runCommand(
  command: Command,
  io: ConfigCommandIo,
  body: (logger: Logger) => Promise<number>,
): Promise<void> {
  let logger: Logger;
  try {
    logger = commandLogger(command, io);
  } catch (error) {
    io.stderr.write(`FATAL: ${(error as Error).message}\n`);
    io.setExitCode(1);
    return;
  }
  try {
    io.setExitCode(await body(logger));
  } catch (error) {
    logger.fatal((error as Error).message);
    io.setExitCode(1);
  }
}

export function runnerField(runner: { token?: string | undefined }): string {
  return shortTokenForDisplay(runner.token ?? '');
}

// ---------------------------------------------------------------------------------------------------------------
// flags → runner object

type Table = Record<string, unknown>;

function setPath(target: Table, path: string, value: unknown): void {
  const parts = path.split('.');
  let table = target;
  for (const part of parts.slice(0, -1)) {
    const next = table[part];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) table = next as Table;
    else {
      const created: Table = {};
      table[part] = created;
      table = created;
    }
  }
  table[parts[parts.length - 1] as string] = value;
}

function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

/** Go mergo.Merge: fills only the target's empty values from the template (deeply). */
export function fillEmpty(target: Table, template: Table): Table {
  for (const [key, value] of Object.entries(template)) {
    const current = target[key];
    if (
      typeof current === 'object' &&
      current !== null &&
      !Array.isArray(current) &&
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value)
    ) {
      fillEmpty(current as Table, value as Table);
    } else if (isEmptyValue(current)) {
      target[key] = value;
    }
  }
  return target;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function convert(path: string, kind: FlagKind, raw: string | string[] | boolean, origin: string): unknown {
  const values = Array.isArray(raw) ? raw : [raw];
  const last = values[values.length - 1];
  const fail = (expected: string) =>
    new RunnerCommandError(
      'RUNNER_REGISTER_INVALID_VALUE',
      `${origin}: expected ${expected}, got ${JSON.stringify(last)}`,
    );
  switch (kind) {
    case 'bool': {
      if (typeof last === 'boolean') return last;
      const parsed = parseGoBool(String(last));
      if (parsed === undefined) throw fail('true or false');
      return parsed;
    }
    case 'int': {
      if (!/^-?\d+$/.test(String(last))) throw fail('an integer');
      return Number(last);
    }
    case 'float': {
      const number = Number(last);
      if (String(last).trim() === '' || !Number.isFinite(number)) throw fail('a number');
      return number;
    }
    case 'list':
      return values.flatMap((value) => splitList(String(value)));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const entry of values.flatMap((value) => splitList(String(value)))) {
        const match = /^([^:=]+)[:=](.*)$/.exec(entry);
        if (!match) throw fail('key:value');
        const key = (match[1] as string).trim();
        const text = (match[2] as string).trim();
        if (path === 'feature_flags') {
          const flag = parseGoBool(text);
          if (flag === undefined) throw fail(`${key}:true or ${key}:false`);
          out[key] = flag;
        } else if (path === 'docker.services_devices') {
          out[key] = text.split(/\s+/).filter(Boolean);
        } else out[key] = text;
      }
      return out;
    }
    default:
      return String(last);
  }
}

function optionKey(flag: string): string {
  return `flag:${flag}`;
}

/** The runner object given by flags (winning) and environment variables; only values actually given appear. */
export function runnerFromFlags(
  given: ReadonlyMap<string, string | string[] | boolean>,
  env: Readonly<Record<string, string | undefined>>,
): Table {
  const runner: Table = {};
  for (const [path, flags, , envName, kind] of RUNNER_FLAGS) {
    const primary = flags[0] as string;
    const fromFlag = flags.map((flag) => given.get(optionKey(flag))).find((value) => value !== undefined);
    if (fromFlag !== undefined) {
      setPath(runner, path, convert(path, kind, fromFlag, primary));
      continue;
    }
    const fromEnv = envName ? env[envName] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') setPath(runner, path, convert(path, kind, fromEnv, envName as string));
  }
  return runner;
}

// ---------------------------------------------------------------------------------------------------------------
// prompts

interface Prompter {
  ask(key: string, prompt: string, current: string, allowEmpty?: boolean): Promise<string>;
  close(): void;
}

function createPrompter(io: RunnerCommandIo, nonInteractive: boolean): Prompter {
  if (nonInteractive) {
    return {
      async ask(key, _prompt, current, allowEmpty = false) {
        const value = current.trim();
        if (value === '' && !allowEmpty) {
          throw new RunnerCommandError('RUNNER_REGISTER_MISSING_VALUE', `The ${key} needs to be entered`);
        }
        return value;
      },
      close() {},
    };
  }
  const input = io.stdin ?? process.stdin;
  const lines: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let ended = false;
  let interrupted = false;
  const rl = createInterface({ input, terminal: false });
  // Ctrl-C while prompting ends the prompt like EOF does, so a runner GitLab already created is unregistered
  // again (GitLab Runner does the same on os.Interrupt).
  const controller = io.interrupt ? undefined : new AbortController();
  const signal = io.interrupt ?? controller?.signal;
  const onSigint = () => controller?.abort();
  if (controller) process.on('SIGINT', onSigint);
  const onAbort = () => {
    interrupted = true;
    rl.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  rl.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else lines.push(line);
  });
  rl.on('close', () => {
    ended = true;
    for (const next of waiting.splice(0)) next(undefined);
  });
  const nextLine = () =>
    new Promise<string | undefined>((resolve) => {
      const line = lines.shift();
      if (line !== undefined) resolve(line);
      else if (ended) resolve(undefined);
      else waiting.push(resolve);
    });
  return {
    async ask(_key, prompt, current, allowEmpty = false) {
      let result = current.trim();
      for (;;) {
        io.stdout.write(`${prompt}\n`);
        if (result !== '') io.stdout.write(`[${result}]: `);
        const line = await nextLine();
        if (line === undefined && interrupted) {
          throw new RunnerCommandError('RUNNER_REGISTER_ABORTED', 'RECEIVED SIGNAL: interrupt');
        }
        if (line === undefined) {
          throw new RunnerCommandError(
            'RUNNER_REGISTER_ABORTED',
            'Unexpected EOF. Did you mean to use --non-interactive?',
          );
        }
        if (line.trim() !== '') result = line.trim();
        if (allowEmpty || result !== '') return result;
      }
    },
    close: () => {
      if (controller) process.off('SIGINT', onSigint);
      signal?.removeEventListener('abort', onAbort);
      rl.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// register

export interface RegisterSettings {
  configFile: string;
  nonInteractive: boolean;
  leaveRunner: boolean;
  registrationToken: string | undefined;
  templateConfig: string | undefined;
  tagList: string | undefined;
  runUntagged: boolean | undefined;
  locked: boolean | undefined;
  accessLevel: string | undefined;
  maximumTimeout: number | undefined;
  paused: boolean | undefined;
  maintenanceNote: string | undefined;
  /** The runner built from runner-level flags and variables (url, token, executor, docker.*, …). */
  runner: Table;
}

const SUPPORTED = new Set(['docker', 'ssh', 'shell']);
const ZERO_TIME = '0001-01-01T00:00:00Z';

function isoSeconds(value: string): string {
  return value.replace(/\.\d+Z$/, 'Z');
}

function sectionsFor(executor: string): string[] {
  switch (executor) {
    case 'docker':
    case 'docker-windows':
    case 'docker-autoscaler':
      return ['docker'];
    case 'docker+machine':
      return ['docker', 'machine'];
    case 'ssh':
      return ['ssh'];
    case 'parallels':
      return ['ssh', 'parallels'];
    case 'virtualbox':
      return ['ssh', 'virtualbox'];
    case 'kubernetes':
      return ['kubernetes'];
    case 'custom':
      return ['custom'];
    case 'docker-autoscaler+instance':
      return [];
    default:
      return [];
  }
}

const EXECUTOR_SECTIONS = ['docker', 'machine', 'ssh', 'parallels', 'virtualbox', 'kubernetes', 'custom'];

/** Orders a runner as GitLab writes it: identity first, then settings, then sub-tables. */
function orderRunner(runner: Table): Table {
  const first = ['name', 'url', 'id', 'token', 'token_obtained_at', 'token_expires_at', 'executor'];
  const out: Table = {};
  for (const key of first) if (runner[key] !== undefined) out[key] = runner[key];
  for (const [key, value] of Object.entries(runner)) if (!(key in out)) out[key] = value;
  return out;
}

async function readTemplate(file: string): Promise<Table> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RunnerCommandError('RUNNER_CONFIG_UNREADABLE', `${file}: cannot read the template file`, {
      cause: error,
    });
  }
  const result = validateConfig(text);
  if (!result.ok) {
    const lines = result.issues.filter((i) => i.severity === 'error').map((i) => formatIssueLine(file, i));
    throw new RunnerCommandError('RUNNER_CONFIG_INVALID', `template ${file} is not valid:\n${lines.join('\n')}`);
  }
  const runners = result.config.runners ?? [];
  if (runners.length !== 1) {
    throw new RunnerCommandError(
      'RUNNER_CONFIG_INVALID',
      `template ${file} must contain exactly one [[runners]] entry, found ${runners.length}`,
    );
  }
  const { token: _token, ...runner } = structuredClone(runners[0] as unknown as Table);
  return runner;
}

/** Registers one runner as `gitlab-runner register` does and appends it to the config file. Returns the exit code. */
export async function registerRunner(settings: RegisterSettings, io: RunnerCommandIo, logger: Logger): Promise<number> {
  const file = settings.configFile;
  if (settings.accessLevel && !['not_protected', 'ref_protected'].includes(settings.accessLevel)) {
    throw new RunnerCommandError(
      'RUNNER_REGISTER_INVALID_VALUE',
      'Given access-level is not valid. Refer to runnerkit register -h for the correct options.',
    );
  }
  const runner: Table = structuredClone(settings.runner);
  if (settings.templateConfig) {
    logger.info(`Merging configuration from template file "${settings.templateConfig}"`);
    fillEmpty(runner, await readTemplate(settings.templateConfig));
  }
  const loaded = await loadConfigFile(file, { allowMissing: true });
  const prompter = createPrompter(io, settings.nonInteractive);
  const systemId = await loadOrCreateSystemId(file, io.machineId);
  const defaultName = io.hostname ?? osHostname();

  let client: JobApiClient | undefined;
  let registered: { token: string } | undefined;
  try {
    runner.url = await prompter.ask(
      'url',
      'Enter the GitLab instance URL (for example, https://gitlab.com/):',
      String(runner.url ?? ''),
    );
    client = createRunnerClient(runner as Partial<RunnerConfig>, { onEvent: logApiEvents(logger) });
    const serverSide = {
      ...(settings.tagList !== undefined ? { tagList: splitList(settings.tagList) } : {}),
      ...(settings.runUntagged !== undefined ? { runUntagged: settings.runUntagged } : {}),
      ...(settings.locked !== undefined ? { locked: settings.locked } : {}),
      ...(settings.accessLevel ? { accessLevel: settings.accessLevel } : {}),
      ...(settings.maximumTimeout ? { maximumTimeout: settings.maximumTimeout } : {}),
      ...(settings.paused !== undefined ? { paused: settings.paused } : {}),
      ...(settings.maintenanceNote ? { maintenanceNote: settings.maintenanceNote } : {}),
    };
    let token = typeof runner.token === 'string' ? runner.token : '';
    let viaRegistrationOption = false;
    if (token === '' && settings.registrationToken) {
      token = settings.registrationToken;
      viaRegistrationOption = true;
    }
    let credentials: RunnerCredentials | undefined;
    if (token !== '' && !isCreatedRunnerToken(token) && !viaRegistrationOption) {
      logger.info('Token specified trying to verify runner...');
      logger.warn("If you want to register use the '-r' instead of '-t'.");
      try {
        const verified = await client.verify({ token, systemId });
        credentials = {
          id: verified.id ?? 0,
          token,
          tokenExpiresAt: verified.tokenExpiresAt,
          tokenObtainedAt: new Date().toISOString(),
        };
      } catch (error) {
        throw new RunnerCommandError(
          'RUNNER_VERIFY_FAILED',
          `Failed to verify the runner. You may be having network problems. (${(error as Error).message})`,
          { cause: error },
        );
      }
      logger.info({ runner: runnerField({ token }) }, 'Verifying runner... is alive');
      runner.name = String(runner.name || defaultName);
    } else {
      if (token === '') {
        token = await prompter.ask('registration-token', 'Enter the registration token:', '');
        viaRegistrationOption = true;
      }
      if (!isCreatedRunnerToken(token)) {
        runner.name = await prompter.ask(
          'name',
          'Enter a description for the runner:',
          String(runner.name || defaultName),
        );
        const tags = await prompter.ask(
          'tag-list',
          'Enter tags for the runner (comma-separated):',
          settings.tagList ?? '',
          true,
        );
        const note = await prompter.ask(
          'maintenance-note',
          'Enter optional maintenance note for the runner:',
          settings.maintenanceNote ?? '',
          true,
        );
        logger.warn(
          "Support for registration tokens and runner parameters in the 'register' command has been deprecated in GitLab Runner 15.6 and will be replaced with support for authentication tokens. For more information, see https://docs.gitlab.com/ci/runners/new_creation_workflow/",
        );
        try {
          credentials = await client.register({
            token,
            description: String(runner.name),
            ...serverSide,
            tagList: splitList(tags),
            ...(note ? { maintenanceNote: note } : {}),
          });
        } catch (error) {
          throw new RunnerCommandError(
            'RUNNER_REGISTER_FAILED',
            `Failed to register the runner. ${(error as Error).message}`,
            { cause: error },
          );
        }
        logger.info({ runner: runnerField(credentials) }, 'Registering runner... succeeded');
      } else {
        if ((loaded.config.runners ?? []).some((entry) => entry.token === token)) {
          logger.warn('A runner with this system ID and token has already been registered.');
        }
        try {
          credentials = await client.register({
            token,
            systemId,
            ignoreServerSideSettings: viaRegistrationOption,
            ...serverSide,
          });
        } catch (error) {
          throw new RunnerCommandError(
            'RUNNER_REGISTER_FAILED',
            `Failed to verify the runner. ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
        logger.info({ runner: runnerField(credentials) }, 'Verifying runner... is valid');
        runner.name = await prompter.ask(
          'name',
          'Enter a name for the runner. This is stored only in the local config.toml file:',
          String(runner.name || defaultName),
        );
      }
      registered = { token: credentials.token };
    }

    runner.token = credentials.token;
    if (credentials.id > 0) runner.id = credentials.id;
    runner.token_obtained_at = isoSeconds(credentials.tokenObtainedAt);
    runner.token_expires_at = credentials.tokenExpiresAt ? isoSeconds(credentials.tokenExpiresAt) : ZERO_TIME;

    // executor
    const names = EXECUTORS.join(', ');
    let executor = String(runner.executor ?? '');
    for (;;) {
      executor = await prompter.ask('executor', `Enter an executor: ${names}:`, executor, true);
      if ((EXECUTORS as readonly string[]).includes(executor)) break;
      if (settings.nonInteractive) {
        throw new RunnerCommandError('RUNNER_REGISTER_INVALID_VALUE', 'Invalid executor specified');
      }
      logger.error('Invalid executor specified');
      executor = '';
    }
    runner.executor = executor;
    if (!SUPPORTED.has(executor)) {
      logger.warn(
        `The ${executor} executor is not supported by runnerkit (docker, ssh and shell are); the runner is saved`,
      );
    }
    for (const section of EXECUTOR_SECTIONS) if (!sectionsFor(executor).includes(section)) delete runner[section];
    if (['docker', 'docker+machine', 'docker-autoscaler', 'docker-windows'].includes(executor)) {
      const docker = (runner.docker ?? {}) as Table;
      docker.image = await prompter.ask(
        'docker-image',
        `Enter the default Docker image (for example, ${executor === 'docker-windows' ? 'mcr.microsoft.com/windows/servercore:1809' : 'ruby:3.3'}):`,
        String(docker.image ?? ''),
      );
      const volumes = Array.isArray(docker.volumes) ? (docker.volumes as string[]) : [];
      if (executor === 'docker-windows') {
        if (!runner.shell) runner.shell = 'pwsh';
        if (!volumes.some((volume) => volume.includes('c:\\cache'))) volumes.push('c:\\cache');
      } else if (!volumes.some((volume) => volume.split(':').at(-1) === '/cache') && !docker.disable_cache) {
        volumes.push('/cache');
      }
      docker.volumes = volumes;
      runner.docker = docker;
    }
    if (['ssh', 'parallels', 'virtualbox'].includes(executor)) {
      const ssh = (runner.ssh ?? {}) as Table;
      if (executor === 'parallels') {
        const parallels = (runner.parallels ?? {}) as Table;
        parallels.base_name = await prompter.ask(
          'parallels-base-name',
          'Enter the Parallels VM (for example, my-vm):',
          String(parallels.base_name ?? ''),
        );
        runner.parallels = parallels;
      }
      if (executor === 'virtualbox') {
        const virtualbox = (runner.virtualbox ?? {}) as Table;
        virtualbox.base_name = await prompter.ask(
          'virtualbox-base-name',
          'Enter the VirtualBox VM (for example, my-vm):',
          String(virtualbox.base_name ?? ''),
        );
        runner.virtualbox = virtualbox;
      }
      if (executor !== 'virtualbox') {
        ssh.host = await prompter.ask(
          'ssh-host',
          'Enter the SSH server address (for example, my.server.com):',
          String(ssh.host ?? ''),
        );
        ssh.port = await prompter.ask(
          'ssh-port',
          'Enter the SSH server port (for example, 22):',
          String(ssh.port ?? ''),
          true,
        );
      }
      if (executor !== 'parallels') {
        ssh.user = await prompter.ask('ssh-user', 'Enter the SSH user (for example, root):', String(ssh.user ?? ''));
        ssh.password = await prompter.ask(
          'ssh-password',
          'Enter the SSH password (for example, docker.io):',
          String(ssh.password ?? ''),
          true,
        );
        ssh.identity_file = await prompter.ask(
          'ssh-identity-file',
          'Enter the path to the SSH identity file (for example, /home/user/.ssh/id_rsa):',
          String(ssh.identity_file ?? ''),
          true,
        );
      }
      for (const key of Object.keys(ssh)) if (ssh[key] === '') delete ssh[key];
      runner.ssh = ssh;
    }

    const block = orderRunner(runner);
    const base = loaded.exists ? loaded.text : 'concurrent = 1\ncheck_interval = 0\nshutdown_timeout = 0\n';
    const text = appendRunner(base, block);
    const result = validateConfig(text);
    if (!result.ok) {
      const lines = result.issues.filter((i) => i.severity === 'error').map((i) => formatIssueLine(file, i));
      throw new RunnerCommandError(
        'RUNNER_REGISTER_INVALID_VALUE',
        `the new runner is not valid:\n${lines.join('\n')}`,
      );
    }
    await saveConfigFile(file, text);
    registered = undefined;

    const concurrent = result.config.concurrent ?? 1;
    const limit = typeof runner.limit === 'number' ? runner.limit : 0;
    const requestConcurrency = typeof runner.request_concurrency === 'number' ? runner.request_concurrency : 0;
    if (concurrent < limit) {
      logger.warn(
        `The specified runner job concurrency limit (${limit}) is larger than current global concurrency limit (${concurrent}). The global concurrent limit will not be increased and takes precedence.`,
      );
    }
    if (concurrent < requestConcurrency) {
      logger.warn(
        `The specified runner request concurrency (${requestConcurrency}) is larger than the current global concurrent limit (${concurrent}). The global concurrent limit will not be increased and takes precedence.`,
      );
    }
    logger.info(
      "Runner registered successfully. Feel free to start it, but if it's running already the config should be automatically reloaded!",
    );
    logger.info(`Configuration (with the authentication token) was saved in "${file}"`);
    return 0;
  } finally {
    prompter.close();
    if (registered && client && !settings.leaveRunner) {
      const token = registered.token;
      await client
        .unregister({ token, systemId })
        .then(() => logger.info({ runner: runnerField({ token }) }, 'Unregistering runner from GitLab succeeded'))
        .catch((error: unknown) =>
          logger.error(
            { runner: runnerField({ token }) },
            `Unregistering runner from GitLab failed: ${(error as Error).message}`,
          ),
        );
    }
    await client?.close();
  }
}

function envBool(env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : parseGoBool(value);
}

function boolOption(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  const parsed = parseGoBool(String(value));
  if (parsed === undefined) {
    throw new RunnerCommandError(
      'RUNNER_REGISTER_INVALID_VALUE',
      `expected true or false, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `runnerkit register` with GitLab Runner's flags (config-toml.md §10). */
export function registerRegisterCommand(program: Command, io: RunnerCommandIo = processIo()): Command {
  const command = program
    .command('register')
    .description('register a new runner')
    .option('-c, --config <file>', 'config file (env CONFIG_FILE)')
    .option(
      '--template-config <file>',
      'a config.toml with one [[runners]] whose values fill the empty ones (env TEMPLATE_CONFIG_FILE)',
    )
    .option('-n, --non-interactive', 'run registration unattended (env REGISTER_NON_INTERACTIVE)')
    .option('--leave-runner', "don't remove the runner if registration fails (env REGISTER_LEAVE_RUNNER)")
    .option(
      '-r, --registration-token <token>',
      "runner's registration token (deprecated, use --token) (env REGISTRATION_TOKEN)",
    )
    .option('--tag-list <tags>', 'tag list, legacy registration only (env RUNNER_TAG_LIST)')
    .option(
      '--run-untagged [bool]',
      "run untagged builds; defaults to 'true' when 'tag-list' is empty (env REGISTER_RUN_UNTAGGED)",
    )
    .option('--locked [bool]', "lock the runner to the current project, defaults to 'true' (env REGISTER_LOCKED)")
    .option('--access-level <level>', 'not_protected or ref_protected (env REGISTER_ACCESS_LEVEL)')
    .option('--maximum-timeout <seconds>', 'maximum job timeout in seconds (env REGISTER_MAXIMUM_TIMEOUT)')
    .option('--paused [bool]', "register the runner paused, defaults to 'false' (env REGISTER_PAUSED)")
    .option('--maintenance-note <note>', "runner's maintenance note (env REGISTER_MAINTENANCE_NOTE)");

  const flagOptions: Array<{ option: Option; flag: string }> = [];
  for (const [, flags, short, envName, kind] of RUNNER_FLAGS) {
    for (const [index, flag] of flags.entries()) {
      const shortPart = index === 0 && short ? `${short}, ` : '';
      const argument = kind === 'bool' ? '[bool]' : '<value>';
      const option = new Option(`${shortPart}${flag} ${argument}`, envName ? `(env ${envName})` : '');
      if (kind === 'list' || kind === 'map') option.argParser(collect);
      command.addOption(option);
      flagOptions.push({ option, flag });
    }
  }
  command.action(async (options: Record<string, unknown>) => {
    await runCommand(command, io, async (logger) => {
      const env = io.env;
      const given = new Map<string, string | string[] | boolean>();
      for (const { option, flag } of flagOptions) {
        const value = options[option.attributeName()];
        if (value !== undefined) given.set(optionKey(flag), value as string | string[] | boolean);
      }
      const runner = runnerFromFlags(given, env);
      if (runner.token === undefined && env.RUNNER_TOKEN) runner.token = env.RUNNER_TOKEN; // runnerkit extension
      const maximumTimeout = (options.maximumTimeout as string | undefined) ?? env.REGISTER_MAXIMUM_TIMEOUT;
      if (maximumTimeout !== undefined && maximumTimeout !== '' && !/^\d+$/.test(maximumTimeout)) {
        throw new RunnerCommandError(
          'RUNNER_REGISTER_INVALID_VALUE',
          `--maximum-timeout: expected seconds, got "${maximumTimeout}"`,
        );
      }
      const settings: RegisterSettings = {
        configFile: defaultConfigPath(io, options.config as string | undefined),
        nonInteractive: options.nonInteractive === true || envBool(env, 'REGISTER_NON_INTERACTIVE') === true,
        leaveRunner: options.leaveRunner === true || envBool(env, 'REGISTER_LEAVE_RUNNER') === true,
        registrationToken: (options.registrationToken as string | undefined) ?? (env.REGISTRATION_TOKEN || undefined),
        templateConfig: (options.templateConfig as string | undefined) ?? (env.TEMPLATE_CONFIG_FILE || undefined),
        tagList: (options.tagList as string | undefined) ?? (env.RUNNER_TAG_LIST || undefined),
        runUntagged: boolOption(options.runUntagged) ?? envBool(env, 'REGISTER_RUN_UNTAGGED'),
        locked: boolOption(options.locked) ?? envBool(env, 'REGISTER_LOCKED'),
        accessLevel: (options.accessLevel as string | undefined) ?? (env.REGISTER_ACCESS_LEVEL || undefined),
        maximumTimeout: maximumTimeout ? Number(maximumTimeout) : undefined,
        paused: boolOption(options.paused) ?? envBool(env, 'REGISTER_PAUSED'),
        maintenanceNote:
          (options.maintenanceNote as string | undefined) ?? (env.REGISTER_MAINTENANCE_NOTE || undefined),
        runner,
      };
      return registerRunner(settings, io, logger);
    });
  });
  return command;
}
