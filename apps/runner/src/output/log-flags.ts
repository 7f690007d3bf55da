// GitLab Runner's global log flags, kept apart from the logger so that building the command tree (and `--help`)
// loads neither pino nor config-schema. The names match config-schema's LOG_LEVELS / LOG_FORMATS (a test checks);
// resolveLogSettings validates the values.
import type { Command } from 'commander';

export const LOG_LEVEL_NAMES = ['panic', 'fatal', 'error', 'warn', 'warning', 'info', 'debug', 'trace'] as const;
export const LOG_FORMAT_NAMES = ['runner', 'text', 'json'] as const;

/** --debug, --log-level, --log-format as given on the command line. */
export interface LogCliOptions {
  debug?: boolean;
  logLevel?: string;
  logFormat?: string;
}

/** Adds GitLab Runner's global log flags to the program: --debug, -l/--log-level, --log-format. */
export function addLogOptions(program: Command): Command {
  return program
    .option('--debug', 'debug mode (env RUNNER_DEBUG)')
    .option('-l, --log-level <level>', `log level: ${LOG_LEVEL_NAMES.join(', ')} (env LOG_LEVEL)`)
    .option('--log-format <format>', `log format: ${LOG_FORMAT_NAMES.join(', ')} (env LOG_FORMAT)`);
}

/** The log flags of a command's program (they are global, given before or after the command name). */
export function logCliOptions(command: Command): LogCliOptions {
  const options = command.optsWithGlobals() as LogCliOptions;
  return {
    ...(options.debug !== undefined ? { debug: options.debug } : {}),
    ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    ...(options.logFormat !== undefined ? { logFormat: options.logFormat } : {}),
  };
}
