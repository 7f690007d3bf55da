import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions, Redactor, resolveLogSettings } from './logger.js';

const FIXED = () => new Date('2024-05-02T08:15:00.123Z');

function capture(options: Omit<LoggerOptions, 'stream' | 'now'> & { tty?: boolean } = {}) {
  const lines: string[] = [];
  const stream = { write: (chunk: string) => lines.push(chunk), isTTY: options.tty ?? false };
  const logger = createLogger({ ...options, stream, now: FIXED });
  return { logger, lines, text: () => lines.join('') };
}

describe('log formats', () => {
  it('runner: message padded to 50 columns, sorted fields, WARNING:/ERROR: prefixes, no colour off a TTY', () => {
    const { logger, text } = capture({ format: 'runner' });
    logger.info({ runner: 'glrt-abcdefgh', arch: 'amd64' }, 'Runtime platform');
    logger.warn('Something odd');
    logger.error({ status: '403 Forbidden' }, 'Verifying runner... is removed');
    expect(text()).toMatchInlineSnapshot(`
      "Runtime platform                                    arch=amd64 runner=glrt-abcdefgh
      WARNING: Something odd                             
      ERROR: Verifying runner... is removed               status=403 Forbidden
      "
    `);
  });

  it('runner: coloured on a TTY', () => {
    const { logger, text } = capture({ format: 'runner', tty: true });
    logger.error({ a: 1 }, 'boom');
    expect(JSON.stringify(text())).toMatchInlineSnapshot(
      `""\\u001b[31;1mERROR: boom                                       \\u001b[0;m  \\u001b[31;1ma\\u001b[0;m=1\\n""`,
    );
  });

  it('text: logrus key=value with time, level and msg first', () => {
    const { logger, text } = capture({ format: 'text' });
    logger.info({ builds: 0, note: 'two words' }, 'Starting multi-runner');
    logger.warn('careful');
    expect(text()).toMatchInlineSnapshot(`
      "time="2024-05-02T08:15:00.123Z" level=info msg="Starting multi-runner" builds=0 note="two words"
      time="2024-05-02T08:15:00.123Z" level=warning msg="careful"
      "
    `);
  });

  it('json: one object per line with level, msg and time as logrus names them', () => {
    const { logger, lines } = capture({ format: 'json' });
    logger.info({ runner: 'glrt-abcdefgh' }, 'Checking for jobs... received');
    logger.warn('w');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        level: 'info',
        msg: 'Checking for jobs... received',
        time: '2024-05-02T08:15:00.123Z',
        runner: 'glrt-abcdefgh',
      },
      { level: 'warning', msg: 'w', time: '2024-05-02T08:15:00.123Z' },
    ]);
  });

  it('honours the level: debug lines only at debug', () => {
    const quiet = capture({ format: 'json', level: 'info' });
    quiet.logger.debug('hidden');
    expect(quiet.lines).toEqual([]);
    const loud = capture({ format: 'json', level: 'DEBUG' });
    loud.logger.debug('shown');
    expect(loud.lines).toHaveLength(1);
    const warningOnly = capture({ format: 'json', level: 'warning' });
    warningOnly.logger.info('hidden');
    warningOnly.logger.warn('shown');
    expect(warningOnly.lines).toHaveLength(1);
  });

  it('reports warnings and errors to onProblem', () => {
    const seen: string[] = [];
    const { logger } = capture({ format: 'json', onProblem: (level) => seen.push(level) });
    logger.info('x');
    logger.warn('y');
    logger.error('z');
    logger.fatal('f');
    expect(seen).toEqual(['warning', 'error', 'fatal']);
  });
});

describe('redaction: secrets never reach the stream', () => {
  const token = 'glrt-SuperSecretToken_0123456789';
  const registration = 'GR1348941xYzSecretRegistration';
  const password = 'hunter2-correct-horse';

  it.each(['runner', 'text', 'json'] as const)(
    '%s: tokens in messages, fields, nested objects and errors',
    (format) => {
      const redactor = new Redactor([password]);
      const { logger, text } = capture({ format, redactor });
      logger.info(`registering with ${registration} and ${token}`);
      logger.info(
        { token, password: 'plain', nested: { url: `https://user:${password}@gitlab.example.com/` } },
        'fields',
      );
      logger.error({ err: new Error(`request failed for ${token}`) }, 'failed');
      logger.info({ args: ['--token', token, password] }, 'argv');
      logger.info({ job_token: 'glcbt-64_abcdefghijklmnop', private_token: 'glpat-abcdefghijklmnopqrst' }, 'more');
      const out = text();
      expect(out).not.toContain('SuperSecretToken');
      expect(out).not.toContain('xYzSecretRegistration');
      expect(out).not.toContain(password);
      expect(out).not.toContain('plain');
      expect(out).not.toContain('abcdefghijklmnop');
      expect(out).toContain('[MASKED]');
    },
  );

  it('keeps the short display form of a runner token so lines still identify runners', () => {
    const { logger, text } = capture({ format: 'runner' });
    logger.info({ runner: 'glrt-abcdefgh', token: 'glrt-abcdefgh' }, 'x');
    expect(text()).toContain('runner=glrt-abcdefgh token=glrt-abcdefgh');
  });

  it('masks secrets registered after the logger was created, and leaves plain text alone', () => {
    const redactor = new Redactor();
    const { logger, text } = capture({ format: 'runner', redactor });
    redactor.add('opaque-legacy-token-1234');
    logger.info('token opaque-legacy-token-1234 in use; job 42 in project group/app succeeded');
    expect(text()).toMatchInlineSnapshot(`
      "token [MASKED] in use; job 42 in project group/app succeeded 
      "
    `);
  });
});

describe('resolveLogSettings', () => {
  it('follows GitLab Runner’s precedence: --debug > --log-level > LOG_LEVEL > config > info', () => {
    expect(resolveLogSettings({}, {}, {})).toEqual({ level: 'info', format: 'runner' });
    expect(resolveLogSettings({}, {}, { log_level: 'warn', log_format: 'json' })).toEqual({
      level: 'warn',
      format: 'json',
    });
    expect(resolveLogSettings({}, { LOG_LEVEL: 'error', LOG_FORMAT: 'text' }, { log_level: 'warn' })).toEqual({
      level: 'error',
      format: 'text',
    });
    expect(resolveLogSettings({ logLevel: 'debug' }, { LOG_LEVEL: 'error' })).toEqual({
      level: 'debug',
      format: 'runner',
    });
    expect(resolveLogSettings({ debug: true, logLevel: 'error' }, {}).level).toBe('debug');
    expect(resolveLogSettings({}, { RUNNER_DEBUG: 'true' }).level).toBe('debug');
  });

  it('rejects unknown names', () => {
    expect(() => resolveLogSettings({ logLevel: 'loud' }, {})).toThrow(/unknown log level "loud"/);
    expect(() => resolveLogSettings({ logFormat: 'xml' }, {})).toThrow(/unknown log format "xml"/);
  });
});
