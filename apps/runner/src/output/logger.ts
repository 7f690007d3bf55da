// The CLI's logger: pino underneath, GitLab Runner's three output formats on top, and a redaction layer that every
// line passes through before it is written.
//
//   const logger = createLogger({ format: 'runner', level: 'info', stream: process.stderr });
//   logger.info({ runner: 'glrt-abcdefgh' }, 'Checking for jobs... received');
//
// Formats (log_format / --log-format / LOG_FORMAT):
//   runner  GitLab Runner's own: message padded to 50 columns, then ` key=value` sorted; warnings/errors prefixed
//           `WARNING: ` / `ERROR: ` / `FATAL: `; coloured only when the stream is a TTY.
//   text    logrus' text form: time="…" level=info msg="…" key=value
//   json    one JSON object per line: {"level":"info","msg":"…","time":"…", …fields}
//
// Redaction (secrets never reach the stream): every string in the line — message, fields, nested error objects — is
// passed through job-api-client's `redact` (GitLab token prefixes, URL user-info, credential query parameters) and
// the secrets registered on the logger's `Redactor`; fields whose name looks like a credential (config-schema's
// SECRET_NAME: token, password, secret, key, auth, credential) are masked whatever their value, except a `token`
// field already in the short display form (`glrt-` + 8 characters, or 8 characters).
import { Writable } from 'node:stream';
import { LOG_FORMATS, LOG_LEVELS, MASKED, SECRET_NAME } from '@runnerkit/config-schema';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogCliOptions } from './log-flags.js';

export { addLogOptions, type LogCliOptions, logCliOptions } from './log-flags.js';

export type LogFormat = 'runner' | 'text' | 'json';
/** GitLab Runner's level names (case-insensitive on input); `warning` = `warn`, `panic` = `fatal` here. */
export type LogLevel = 'panic' | 'fatal' | 'error' | 'warn' | 'warning' | 'info' | 'debug' | 'trace';

export interface LogStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  /** Default `runner`. */
  format?: LogFormat;
  /** Default `info`. */
  level?: LogLevel | (string & {});
  /** Where lines go (default process.stderr, as GitLab Runner). */
  stream?: LogStream;
  /** Colours in the `runner`/`text` formats; default: the stream is a TTY. */
  color?: boolean;
  /** Secrets to mask in every line; add more later with `redactor.add()`. */
  redactor?: Redactor;
  /** Clock for the `time` field (tests). */
  now?: () => Date;
  /** Called for every warning, error and fatal line written (feeds gitlab_runner_errors_total). */
  onProblem?: (level: 'warning' | 'error' | 'fatal') => void;
}

export type { Logger };

/** Literal secrets (tokens, passwords) plus GitLab's token patterns, masked in any text. */
export class Redactor {
  readonly #secrets = new Set<string>();

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /** Registers a value that must never appear in a log line (ignored when shorter than 4 characters). */
  add(secret: string | undefined | null): this {
    if (secret && secret.length >= 4) this.#secrets.add(secret);
    return this;
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(maskedForm(secret));
    return out
      .replace(TOKEN_PATTERN, (whole: string, prefix: string, rest: string) =>
        prefix === 'glrt-' && rest.length <= 8 ? whole : `${prefix}${MASKED}`,
      )
      .replace(QUERY_PATTERN, `$1${MASKED}`)
      .replace(USERINFO_PATTERN, (_whole: string, scheme: string, userinfo: string) => {
        const colon = userinfo.indexOf(':');
        return `${scheme}${colon === -1 ? MASKED : `${userinfo.slice(0, colon)}:${MASKED}`}@`;
      });
  }

  /** A deep copy with every string redacted and credential-named fields masked. */
  value(value: unknown, key?: string): unknown {
    if (typeof value === 'string') {
      if (key !== undefined && SECRET_NAME.test(key) && value !== '' && !isDisplayToken(key, value)) {
        return maskedForm(value);
      }
      return this.text(value);
    }
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(value)) out[k] = this.value(item, k);
      return out;
    }
    return value;
  }
}

// GitLab's token prefixes (the prefix is safe to show); `glrt-` plus at most 8 characters is the display form.
const PREFIXES = [
  'glrtr-',
  'glrt-',
  'glcbt-',
  'glpat-',
  'gloas-',
  'gldt-',
  'glptt-',
  'glft-',
  'glimt-',
  'glagent-',
  'glsoat-',
  'glffct-',
  'gltok-',
  'GR1348941',
];
const TOKEN_PATTERN = new RegExp(`(${PREFIXES.join('|')})([A-Za-z0-9._=-]+)`, 'g');
const QUERY_PATTERN =
  /([?&](?:private_token|authenticity_token|rss_token|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|token|sig)=)[^&#\s"']*/gi;
const USERINFO_PATTERN = /(\b[a-z][a-z0-9+.-]*:\/\/)([^/@\s"']+)@/gi;

function isDisplayToken(key: string, value: string): boolean {
  return /token/i.test(key) && (value.startsWith('glrt-') ? value.length <= 13 : value.length <= 8);
}

function maskedForm(value: string): string {
  const prefix = PREFIXES.find((candidate) => value.startsWith(candidate));
  return `${prefix ?? ''}${MASKED}`;
}

const PINO_LEVEL: Record<string, string> = {
  panic: 'fatal',
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

/** Maps GitLab's level names to pino's; throws on an unknown name. */
export function pinoLevel(level: string): string {
  const mapped = PINO_LEVEL[level.toLowerCase()];
  if (!mapped) throw new Error(`unknown log level "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
  return mapped;
}

const ANSI = {
  boldWhite: '\x1b[37;1m',
  yellow: '\x1b[0;33m',
  boldRed: '\x1b[31;1m',
  blue: '\x1b[0;34m',
  reset: '\x1b[0;m',
};

const LEVEL_STYLE: Record<string, { color: string; prefix: string }> = {
  trace: { color: ANSI.boldWhite, prefix: '' },
  debug: { color: ANSI.boldWhite, prefix: '' },
  info: { color: '', prefix: '' },
  warning: { color: ANSI.yellow, prefix: 'WARNING: ' },
  error: { color: ANSI.boldRed, prefix: 'ERROR: ' },
  fatal: { color: ANSI.boldRed, prefix: 'FATAL: ' },
};

function display(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function logfmtValue(value: unknown): string {
  const text = display(value);
  return /^[A-Za-z0-9\-._/@^+]+$/.test(text) ? text : JSON.stringify(text);
}

type Entry = Record<string, unknown> & { level: string; msg?: string; time?: string };

function splitEntry(entry: Entry): { level: string; msg: string; time: string; fields: [string, unknown][] } {
  const { level, msg, time, ...rest } = entry;
  const fields = Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { level, msg: msg ?? '', time: time ?? '', fields };
}

export function formatRunnerLine(entry: Entry, color: boolean): string {
  const { level, msg, fields } = splitEntry(entry);
  const style = LEVEL_STYLE[level] ?? { color: '', prefix: '' };
  const on = color ? style.color : '';
  const off = color ? ANSI.reset : '';
  const width = Math.max(0, 50 - style.prefix.length);
  let line = `${on}${style.prefix}${msg.padEnd(width)}${off} `;
  for (const [key, value] of fields) line += ` ${on}${key}${off}=${display(value)}`;
  return `${line}\n`;
}

export function formatTextLine(entry: Entry, color: boolean): string {
  const { level, msg, time, fields } = splitEntry(entry);
  const style = LEVEL_STYLE[level] ?? { color: '', prefix: '' };
  const levelText = color && style.color ? `${style.color}${level}${ANSI.reset}` : level;
  let line = `time=${JSON.stringify(time)} level=${levelText} msg=${JSON.stringify(msg)}`;
  for (const [key, value] of fields) line += ` ${key}=${logfmtValue(value)}`;
  return `${line}\n`;
}

/** pino writes one JSON line per call; this turns it into the chosen format after redaction. */
class FormattingDestination implements DestinationStream {
  constructor(
    private readonly format: LogFormat,
    private readonly stream: LogStream,
    private readonly color: boolean,
    private readonly redactor: Redactor,
    private readonly onProblem: LoggerOptions['onProblem'],
  ) {}

  write(line: string): void {
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      this.stream.write(this.redactor.text(line));
      return;
    }
    const clean = this.redactor.value(entry) as Entry;
    if (this.onProblem && (clean.level === 'warning' || clean.level === 'error' || clean.level === 'fatal')) {
      this.onProblem(clean.level);
    }
    if (this.format === 'json') this.stream.write(`${JSON.stringify(clean)}\n`);
    else if (this.format === 'text') this.stream.write(formatTextLine(clean, this.color));
    else this.stream.write(formatRunnerLine(clean, this.color));
  }
}

// Output names as logrus writes them, so JSON consumers of GitLab Runner's logs keep working.
const LEVEL_LABEL: Record<string, string> = { warn: 'warning' };

/** Creates the CLI logger (a pino Logger). See the top of this file for formats and redaction. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'runner';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`unknown log format "${format}": expected one of ${LOG_FORMATS.join(', ')}`);
  }
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? (format !== 'json' && stream.isTTY === true);
  const redactor = options.redactor ?? new Redactor();
  const now = options.now ?? (() => new Date());
  return pino(
    {
      level: pinoLevel(options.level ?? 'info'),
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"time":"${now().toISOString()}"`,
      formatters: { level: (label) => ({ level: LEVEL_LABEL[label] ?? label }) },
    },
    new FormattingDestination(format, stream, color, redactor, options.onProblem),
  );
}

/** A Writable that turns written text into log lines (for child-process or library output). */
export function lineLogger(logger: Logger, level: 'info' | 'warn' | 'error' | 'debug' = 'info'): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line !== '') logger[level](line);
      callback();
    },
    final(callback) {
      if (pending !== '') logger[level](pending);
      callback();
    },
  });
}

export interface LogSettings {
  format: LogFormat;
  level: string;
}

/**
 * GitLab Runner's precedence: --debug, then --log-level / LOG_LEVEL, then config.toml's log_level, then `info`;
 * --log-format / LOG_FORMAT, then log_format, then `runner`. Throws on unknown names (the CLI exits 1).
 */
export function resolveLogSettings(
  cli: LogCliOptions,
  env: Readonly<Record<string, string | undefined>>,
  config: { log_level?: string | undefined; log_format?: string | undefined } = {},
): LogSettings {
  const debug = cli.debug === true || ['1', 'true'].includes((env.RUNNER_DEBUG ?? '').toLowerCase());
  const level = debug ? 'debug' : cli.logLevel || env.LOG_LEVEL || config.log_level || 'info';
  pinoLevel(level);
  const format = cli.logFormat || env.LOG_FORMAT || config.log_format || 'runner';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`unknown log format "${format}": expected one of ${LOG_FORMATS.join(', ')}`);
  }
  return { format: format as LogFormat, level };
}
