// The runner's own log lines (not job traces). One small function so the CLI can switch to output/logger.ts
// (pino, log_format, log_level) without touching the callers.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunnerLog {
  log(level: LogLevel, message: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Lines as GitLab Runner's text format prints them: `LEVEL message  key=value …`, on stderr. */
export function createRunnerLog(
  options: { stream?: { write(chunk: string): unknown }; level?: LogLevel; json?: boolean } = {},
): RunnerLog {
  const stream = options.stream ?? process.stderr;
  const threshold = ORDER[options.level ?? 'info'];
  return {
    log(level, message, fields = {}) {
      if (ORDER[level] < threshold) return;
      const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
      if (options.json) {
        stream.write(
          `${JSON.stringify({ level, msg: message, time: new Date().toISOString(), ...Object.fromEntries(entries) })}\n`,
        );
        return;
      }
      const tail = entries.map(
        ([key, value]) => `${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : value}`,
      );
      stream.write(`${level.toUpperCase().padEnd(7)} ${message}${tail.length > 0 ? `  ${tail.join(' ')}` : ''}\n`);
    },
  };
}
