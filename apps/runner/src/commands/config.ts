import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  type ConfigIssue,
  createJsonSchema,
  redactSecrets,
  sortIssues,
  stringify,
  validateConfig,
} from '@runnerkit/config-schema';
import type { Command } from 'commander';

/** Where the config commands read and write; `processIo()` binds them to the real process. */
export interface ConfigCommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  homedir: string;
  isRoot: boolean;
  setExitCode(code: number): void;
}

export function processIo(): ConfigCommandIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    homedir: homedir(),
    isRoot: process.getuid?.() === 0,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

/** GitLab Runner's default: /etc/gitlab-runner/config.toml as root, ~/.gitlab-runner/config.toml otherwise. */
export function defaultConfigPath(io: Pick<ConfigCommandIo, 'env' | 'homedir' | 'isRoot' | 'cwd'>, option?: string) {
  const chosen = option ?? io.env.CONFIG_FILE;
  if (chosen !== undefined && chosen !== '') return isAbsolute(chosen) ? chosen : resolve(io.cwd, chosen);
  return io.isRoot ? '/etc/gitlab-runner/config.toml' : join(io.homedir, '.gitlab-runner', 'config.toml');
}

/** `FILE:LINE severity path code: message` */
export function formatIssueLine(file: string, issue: ConfigIssue): string {
  return `${file}:${issue.line ?? 1} ${issue.severity} ${issue.path} ${issue.code}: ${issue.message}`;
}

async function readConfigText(file: string, io: ConfigCommandIo): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    io.stderr.write(`${file}: cannot read the config file (${reason})\n`);
    io.setExitCode(1);
    return undefined;
  }
}

interface FileOptions {
  config?: string;
  json?: boolean;
  showSecrets?: boolean;
}

/** `runnerkit config validate | show | schema`. */
export function registerConfigCommand(program: Command, io: ConfigCommandIo): Command {
  const config = program.command('config').description('Check and print config.toml');

  config
    .command('validate')
    .description('Validate config.toml: every issue as FILE:LINE severity path code: message; exit 1 on any error')
    .option('-c, --config <file>', 'config file (env CONFIG_FILE)')
    .option('--json', 'print the issues as a JSON list')
    .action(async (options: FileOptions) => {
      const file = defaultConfigPath(io, options.config);
      const text = await readConfigText(file, io);
      if (text === undefined) return;
      const result = validateConfig(text);
      if (options.json) {
        const list = result.issues.map(({ severity, path, code, message, line, column }) => ({
          severity,
          path,
          code,
          message,
          line: line ?? null,
          column: column ?? null,
        }));
        io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      } else {
        for (const issue of result.issues) io.stdout.write(`${formatIssueLine(file, issue)}\n`);
      }
      io.setExitCode(result.ok ? 0 : 1);
    });

  config
    .command('show')
    .description('Print the parsed config (secrets redacted unless --show-secrets)')
    .option('-c, --config <file>', 'config file (env CONFIG_FILE)')
    .option('--json', 'print the {config, effective, warnings} document')
    .option('--show-secrets', 'print tokens, keys and passwords as written')
    .action(async (options: FileOptions) => {
      const file = defaultConfigPath(io, options.config);
      const text = await readConfigText(file, io);
      if (text === undefined) return;
      const result = validateConfig(text);
      if (!result.ok) {
        for (const issue of result.issues) io.stderr.write(`${formatIssueLine(file, issue)}\n`);
        io.setExitCode(1);
        return;
      }
      const shown = options.showSecrets ? result.config : redactSecrets(result.config);
      if (options.json) {
        const warnings = sortIssues(result.warnings).map(({ path, code, message }) => ({ path, code, message }));
        io.stdout.write(`${JSON.stringify({ config: shown, effective: result.effective, warnings }, null, 2)}\n`);
      } else {
        io.stdout.write(stringify(shown));
        for (const issue of result.warnings) io.stderr.write(`${formatIssueLine(file, issue)}\n`);
      }
      io.setExitCode(0);
    });

  config
    .command('schema')
    .description('Print the JSON Schema of config.toml (for editors)')
    .action(() => {
      io.stdout.write(`${JSON.stringify(createJsonSchema(), null, 2)}\n`);
      io.setExitCode(0);
    });

  return config;
}
