// The runner's own log lines (not job traces), through output/logger.ts (pino; runner, text and json formats;
// secrets redacted). Callers see one small function, so the logger behind it can change freely.
import { createLogger, type LogCliOptions, type LogStream, resolveLogSettings } from './output/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunnerLog {
  log(level: LogLevel, message: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

export interface RunnerLogOptions {
  stream?: LogStream;
  /** --debug, --log-level, --log-format as given. */
  cli?: LogCliOptions;
  env?: Readonly<Record<string, string | undefined>>;
  /** config.toml's log_level / log_format. */
  config?: { log_level?: string | undefined; log_format?: string | undefined };
  /** Used when neither flags, environment nor config choose a level. */
  defaultLevel?: LogLevel;
  onProblem?: (level: 'warning' | 'error' | 'fatal') => void;
}

/** GitLab Runner's precedence of flags, environment and config (see resolveLogSettings). */
export function createRunnerLog(options: RunnerLogOptions = {}): RunnerLog {
  const settings = resolveLogSettings(options.cli ?? {}, options.env ?? {}, {
    ...options.config,
    log_level: options.config?.log_level ?? options.defaultLevel,
  });
  const logger = createLogger({
    format: settings.format,
    level: settings.level,
    stream: options.stream ?? process.stderr,
    ...(options.onProblem ? { onProblem: options.onProblem } : {}),
  });
  return {
    log(level, message, fields = {}) {
      const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      logger[level](defined, message);
    },
  };
}
