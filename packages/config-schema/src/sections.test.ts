import { describe, expect, it } from 'vitest';
import {
  ConfigValidationError,
  expandCredentials,
  formatGoDuration,
  parseConfig,
  parseGoDuration,
  redactSecrets,
  resolveFeatureFlags,
  validateConfig,
} from './index.js';

const RUNNER =
  '[[runners]]\n  name = "r"\n  url = "https://gitlab.example.com/"\n  token = "glrt-x"\n  executor = "docker"\n';
const issuesOf = (text: string) =>
  validateConfig(text).issues.map(({ severity, code, path, line }) => ({ severity, code, path, line }));

describe('durations (Go grammar and format)', () => {
  it.each([
    ['1h30m', '1h30m0s'],
    ['90m', '1h30m0s'],
    ['3600s', '1h0m0s'],
    ['-1s', '-1s'],
    ['1.5h', '1h30m0s'],
    ['.5m', '30s'],
    ['5.s', '5s'],
    ['0', '0s'],
    ['900ns', '900ns'],
    ['3.6us', '3.6µs'],
    ['1500μs', '1.5ms'],
    ['2h45m30.5s', '2h45m30.5s'],
  ])('%s → %s', (input, expected) => {
    const ns = parseGoDuration(input);
    expect(ns).toBeDefined();
    expect(formatGoDuration(ns ?? 0n)).toBe(expected);
  });

  it.each(['1h30min', '3600 s', '1d', '', 'h', '1', '--1s', '9999999999h'])('rejects %j', (input) => {
    expect(parseGoDuration(input)).toBeUndefined();
  });

  it('takes a bare integer as nanoseconds and warns', () => {
    const result = validateConfig('connection_max_age = 900\n');
    expect(result.config?.connection_max_age).toBe('900ns');
    expect(issuesOf('connection_max_age = 900\n')).toEqual([
      { severity: 'warning', code: 'duration_as_integer', path: 'connection_max_age', line: 1 },
    ]);
  });

  it('rejects a float duration as a type mismatch', () => {
    expect(issuesOf('connection_max_age = 1.5\n')[0]?.code).toBe('type_mismatch');
  });
});

describe('global keys and [session_server]', () => {
  it('reports every problem at once, each with its line, in one typed error', () => {
    const text =
      'concurrent = 4.0\nlog_format = "JSON"\ncheck_interval = "3"\n[session_server]\n  session_timeout = true\n';
    let caught: unknown;
    try {
      parseConfig(text, { source: 'x.toml' });
    } catch (error) {
      caught = error;
    }
    expect(ConfigValidationError.isInstance(caught)).toBe(true);
    const error = caught as ConfigValidationError;
    expect(error.code).toBe('CONFIG_SCHEMA_INVALID');
    expect(error.issues.map(({ code, path, line, column }) => ({ code, path, line, column }))).toEqual([
      { code: 'type_mismatch', path: 'concurrent', line: 1, column: 1 },
      { code: 'invalid_enum', path: 'log_format', line: 2, column: 1 },
      { code: 'type_mismatch', path: 'check_interval', line: 3, column: 1 },
      { code: 'type_mismatch', path: 'session_server.session_timeout', line: 5, column: 3 },
    ]);
    expect(error.message).toContain('x.toml:1 concurrent: expected integer, found float 4');
  });

  it('warns when concurrent is lower than the number of runners', () => {
    expect(issuesOf(`concurrent = 1\n${RUNNER}${RUNNER}`)).toContainEqual({
      severity: 'warning',
      code: 'concurrent_below_runners',
      path: 'concurrent',
      line: 1,
    });
  });

  it('accepts case variants of known keys with a warning, and rejects two spellings of one key', () => {
    expect(issuesOf('Concurrent = 2\n')).toEqual([
      { severity: 'warning', code: 'key_case_mismatch', path: 'concurrent', line: 1 },
    ]);
    expect(validateConfig('Concurrent = 2\n').config?.concurrent).toBe(2);
    expect(issuesOf(`${RUNNER}[[Runners]]\n  name = "b"\n`).map((issue) => issue.code)).toContain('duplicate_key');
  });

  it('rejects integers beyond ±2^53 instead of rounding them', () => {
    expect(issuesOf('concurrent = 9007199254740993\n')[0]?.code).toBe('out_of_range');
  });

  it('skips a UTF-8 byte-order mark and reads CRLF files with correct lines', () => {
    const result = validateConfig('\ufeffconcurrent = 2\r\nimagee = 1\r\n');
    expect(result.config?.concurrent).toBe(2);
    expect(result.issues[0]?.line).toBe(2);
  });
});

describe('[[runners]]', () => {
  it('warns about missing url, token and executor and the legacy /ci url', () => {
    expect(
      issuesOf('[[runners]]\n  url = "https://gitlab.example.com/ci/"\n').map(({ code, path }) => `${code} ${path}`),
    ).toEqual([
      'missing_required runners[0].executor',
      'missing_required runners[0].token',
      'legacy_ci_url runners[0].url',
    ]);
  });

  it('rejects removed executors and shells with the allowed list', () => {
    const result = validateConfig(`${RUNNER.replace('"docker"', '"docker-ssh"')}  shell = "cmd"\n`);
    expect(result.issues.map(({ code, path }) => `${code} ${path}`)).toEqual([
      'invalid_enum runners[0].executor',
      'invalid_enum runners[0].shell',
    ]);
    expect(result.issues[1]?.message).toContain('"pwsh"');
  });

  it('accepts datetimes as TOML datetimes or RFC 3339 strings, normalised to UTC', () => {
    const result = validateConfig(
      `${RUNNER}  token_obtained_at = 2024-05-02T10:15:00+02:00\n  token_expires_at = "2024-06-01T00:00:00.250Z"\n`,
    );
    expect(result.config?.runners?.[0]?.token_obtained_at).toBe('2024-05-02T08:15:00Z');
    expect(result.config?.runners?.[0]?.token_expires_at).toBe('2024-06-01T00:00:00.25Z');
  });

  it('limits merged labels to 32', () => {
    const many = Array.from({ length: 33 }, (_, i) => `  label_${i} = "v"`).join('\n');
    expect(issuesOf(`${RUNNER}  [runners.labels]\n${many}\n`)).toContainEqual({
      severity: 'error',
      code: 'too_many_labels',
      path: 'runners[0].labels',
      line: 6,
    });
  });
});

describe('[runners.docker]', () => {
  it('normalises pull_policy to a list and checks every value', () => {
    expect(
      validateConfig(`${RUNNER}  [runners.docker]\n    pull_policy = "never"\n`).config?.runners?.[0]?.docker
        ?.pull_policy,
    ).toEqual(['never']);
    expect(issuesOf(`${RUNNER}  [runners.docker]\n    allowed_pull_policies = "never"\n`)[0]?.code).toBe(
      'type_mismatch',
    );
  });

  it('checks sizes, cpus, ulimits and log options', () => {
    const text = `${RUNNER}  [runners.docker]\n    memory = "1.5x"\n    cpus = "two"\n    ulimit = { nofile = "1024:lots", core = 0 }\n    log_options = { "max-size" = "10m" }\n    [runners.docker.sysctls]\n      "net.ipv4.ip_forward" = 1\n`;
    expect(issuesOf(text).map(({ code, path, line }) => `${line} ${code} ${path}`)).toEqual([
      '7 invalid_format runners[0].docker.memory',
      '8 invalid_format runners[0].docker.cpus',
      '9 type_mismatch runners[0].docker.ulimit.core',
      '9 invalid_format runners[0].docker.ulimit.nofile',
      '10 invalid_value runners[0].docker.log_options.max-size',
      '12 type_mismatch runners[0].docker.sysctls["net.ipv4.ip_forward"]',
    ]);
  });

  it('accepts services as an array of inline tables and dotted keys', () => {
    const result = validateConfig(
      `${RUNNER}  docker.image = "a"\n  docker.services = [{ name = "redis:7", alias = "r" }]\n`,
    );
    expect(result.config?.runners?.[0]?.docker).toEqual({ image: 'a', services: [{ name: 'redis:7', alias: 'r' }] });
  });
});

describe('[runners.ssh], [runners.cache], [runners.machine], [runners.monitoring]', () => {
  it('requires the ssh port as a string, as GitLab does', () => {
    expect(issuesOf(`${RUNNER}  [runners.ssh]\n    port = 22\n`)[0]).toEqual({
      severity: 'error',
      code: 'type_mismatch',
      path: 'runners[0].ssh.port',
      line: 7,
    });
  });

  it('reads case-insensitive cache keys, warns about legacy and unknown cache settings', () => {
    const text = `${RUNNER}  [runners.cache]\n    type = "minio"\n    AccessKey = "old"\n    [runners.cache.s3]\n      serveraddress = "s3:9000"\n      AuthenticationType = "token"\n      UploadRoleARN = "arn"\n`;
    expect(issuesOf(text).map(({ severity, code, path }) => `${severity} ${code} ${path}`)).toEqual([
      'warning key_case_mismatch runners[0].cache.Type',
      'warning removed_key runners[0].cache.AccessKey',
      'warning key_case_mismatch runners[0].cache.s3.ServerAddress',
      'error invalid_enum runners[0].cache.s3.AuthenticationType',
      'warning deprecated_key runners[0].cache.s3.UploadRoleARN',
    ]);
  });

  it('checks machine periods, MachineOptionsWithName and monitoring regexes', () => {
    const text = `${RUNNER}  [runners.machine]\n    MachineOptionsWithName = ["no-placeholder"]\n    OffPeakPeriods = ["* * * * *"]\n    [[runners.machine.autoscaling]]\n      Periods = ["* * 25 * * * *"]\n  [runners.monitoring]\n    [[runners.monitoring.job_queuing_durations]]\n      jobs_running_for_project = "(["\n`;
    expect(issuesOf(text).map(({ code, path }) => `${code} ${path}`)).toEqual([
      'invalid_format runners[0].machine.MachineOptionsWithName[0]',
      'deprecated_key runners[0].machine.OffPeakPeriods',
      'invalid_format runners[0].machine.autoscaling[0].Periods[0]',
      'invalid_format runners[0].monitoring.job_queuing_durations[0].jobs_running_for_project',
    ]);
  });
});

describe('feature flags', () => {
  it('warns about unknown, removed, wrong-case and deprecated flags; rejects non-booleans', () => {
    const text = `${RUNNER}  [runners.feature_flags]\n    FF_USE_NEW_SHELL_ESCAPE = true\n    ff_network_per_build = true\n    FF_TEST_FEATURE = false\n`;
    const result = validateConfig(text);
    expect(result.issues.map(({ code, message }) => `${code}: ${message}`)).toEqual([
      'unknown_feature_flag: feature flag FF_USE_NEW_SHELL_ESCAPE was removed in GitLab Runner and has no effect',
      'unknown_feature_flag: unknown feature flag ff_network_per_build: flag names are case-sensitive, did you mean FF_NETWORK_PER_BUILD?',
      'deprecated_feature_flag: feature flag FF_TEST_FEATURE is deprecated and will be removed',
    ]);
  });

  it('resolves [runners.feature_flags] over variables over environment over defaults', () => {
    const flags = resolveFeatureFlags({
      featureFlags: { FF_NETWORK_PER_BUILD: false },
      environment: ['FF_NETWORK_PER_BUILD=true', 'FF_SCRIPT_SECTIONS=1', 'FF_TIMESTAMPS=false', 'FF_USE_FASTZIP=maybe'],
      variables: [{ key: 'FF_SCRIPT_SECTIONS', value: 'F' }],
    });
    expect(flags.FF_NETWORK_PER_BUILD).toBe(false);
    expect(flags.FF_SCRIPT_SECTIONS).toBe(false);
    expect(flags.FF_TIMESTAMPS).toBe(false);
    expect(flags.FF_USE_FASTZIP).toBe(false);
    expect(flags.FF_USE_DIRECT_DOWNLOAD).toBe(true);
  });
});

describe('unknown keys and pass-through sections', () => {
  it('keeps unknown keys with plain values and suggests close known keys', () => {
    const result = validateConfig(
      `${RUNNER}  tls_ca_file = "/ca.pem"\n  [runners.kubernetes]\n    terminationGracePeriodSeconds = 30\n    poll_timeout = "600"\n`,
    );
    expect(result.issues.map(({ code, path, message }) => `${code} ${path} ${message}`)).toEqual([
      'unknown_key runners[0].tls_ca_file unknown key "tls_ca_file" (kept, but GitLab Runner ignores it); did you mean "tls-ca-file"?',
      'removed_key runners[0].kubernetes.terminationGracePeriodSeconds terminationGracePeriodSeconds is no longer read: removed in GitLab Runner 17.0; use pod_termination_grace_period_seconds',
      'type_mismatch runners[0].kubernetes.poll_timeout expected integer, found string "600"',
    ]);
  });

  it('types autoscaler plugin_config values as written', () => {
    const result = validateConfig(
      `${RUNNER}  [runners.autoscaler.plugin_config]\n    n = 1\n    when = 2024-01-01T00:00:00Z\n`,
    );
    expect(result.config?.runners?.[0]?.autoscaler?.plugin_config).toEqual({ n: 1, when: '2024-01-01T00:00:00Z' });
  });
});

describe('secrets and credentials', () => {
  it('redactSecrets masks every secret and leaves empty ones visible', () => {
    const text = `sentry_dsn = "https://key@sentry.example.com/1"\n[[runners]]\n  url = "https://user:pw@gitlab.example.com/"\n  token = "glrt-secret"\n  executor = "docker"\n  environment = ["DOCKER_AUTH_CONFIG={}", "PLAIN=1", "MY_TOKEN="]\n  private_token = "x"\n  [runners.ssh]\n    password = ""\n  [runners.machine]\n    MachineOptions = ["amazonec2-secret-key=abc", "amazonec2-region=eu"]\n  [runners.autoscaler.plugin_config]\n    credentials = { api_key = "k", region = "eu" }\n  [runners.docker]\n    host = "tcp://u:p@docker:2376"\n`;
    const { config } = parseConfig(text);
    const redacted = redactSecrets(config);
    expect(redacted.sentry_dsn).toBe('https://[MASKED]@sentry.example.com/1');
    const runner = redacted.runners?.[0];
    expect(runner?.url).toBe('https://user:[MASKED]@gitlab.example.com/');
    expect(runner?.token).toBe('[MASKED]');
    expect(runner?.environment).toEqual(['DOCKER_AUTH_CONFIG=[MASKED]', 'PLAIN=1', 'MY_TOKEN=']);
    expect(runner?.private_token).toBe('[MASKED]');
    expect(runner?.ssh?.password).toBe('');
    expect(runner?.machine?.MachineOptions).toEqual(['amazonec2-secret-key=[MASKED]', 'amazonec2-region=eu']);
    expect(runner?.autoscaler?.plugin_config).toEqual({ credentials: { api_key: '[MASKED]', region: 'eu' } });
    expect(runner?.docker?.host).toBe('tcp://u:[MASKED]@docker:2376');
    expect(config.runners?.[0]?.token).toBe('glrt-secret');
  });

  it('expandCredentials expands only url and token, unset variables to ""', () => {
    const { config } = parseConfig(
      `[[runners]]\n  url = "$URL"\n  token = "\${RUNNER_TOKEN}\${MISSING}"\n  name = "$URL"\n`,
    );
    const expanded = expandCredentials(config, { URL: 'https://g.example', RUNNER_TOKEN: 'glrt-1' });
    expect(expanded.runners?.[0]).toEqual({ url: 'https://g.example', token: 'glrt-1', name: '$URL' });
  });
});
