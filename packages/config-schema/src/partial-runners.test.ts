import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, parseConfig, validateConfig } from './index.js';

const runner = (name: string, extra = '') =>
  `[[runners]]\n  name = "${name}"\n  url = "https://gitlab.example.com/"\n  token = "glrt-${name}"\n  executor = "docker"\n${extra}`;

const THREE = [
  'concurrent = 3\n',
  runner('healthy-a'),
  runner('bad-pull', '  [runners.docker]\n    image = "alpine"\n    pull_policy = ["always", "sometimes"]\n'),
  runner('healthy-b', '  [runners.docker]\n    memory = "512m"\n'),
].join('\n');

describe('an error confined to one [[runners]] entry (config-toml.md §1.1)', () => {
  it('still rejects the whole file by default', () => {
    expect(validateConfig(THREE).ok).toBe(false);
    expect(() => parseConfig(THREE)).toThrow(ConfigValidationError);
  });

  it('with partialRunners, disables only that runner and reports it by name', () => {
    const result = validateConfig(THREE, { partialRunners: true });
    expect(result.ok).toBe(true);
    expect(result.config?.runners?.map((r) => r.name)).toEqual(['healthy-a', 'healthy-b']);
    expect(result.effective?.runners.map((r) => r.name)).toEqual(['healthy-a', 'healthy-b']);
    expect(result.disabledRunners).toEqual([
      {
        index: 1,
        name: 'bad-pull',
        issues: [
          {
            severity: 'error',
            code: 'invalid_enum',
            path: 'runners[1].docker.pull_policy[1]',
            message: 'expected one of "always" | "if-not-present" | "never", found "sometimes"',
            line: 16,
            column: 30,
          },
        ],
      },
    ]);
    expect(result.warnings).toMatchInlineSnapshot(`
      [
        {
          "code": "runner_disabled",
          "column": 1,
          "line": 9,
          "message": "runner "bad-pull" (runners[1]) is disabled: runners[1].docker.pull_policy[1]: expected one of "always" | "if-not-present" | "never", found "sometimes"",
          "path": "runners[1]",
          "severity": "warning",
        },
      ]
    `);
  });

  it('parseConfig keeps the healthy runners and lists the disabled ones', () => {
    const parsed = parseConfig(THREE, { partialRunners: true, source: '/etc/gitlab-runner/config.toml' });
    expect(parsed.config.runners?.map((r) => r.token)).toEqual(['glrt-healthy-a', 'glrt-healthy-b']);
    expect(parsed.disabledRunners?.map(({ index, name }) => ({ index, name }))).toEqual([
      { index: 1, name: 'bad-pull' },
    ]);
    expect(parsed.warnings.map(({ code, path }) => `${code} ${path}`)).toEqual(['runner_disabled runners[1]']);
  });

  it('reports nothing disabled when every runner is healthy', () => {
    const parsed = parseConfig(`concurrent = 2\n${runner('a')}\n${runner('b')}`, { partialRunners: true });
    expect(parsed.disabledRunners).toEqual([]);
    expect(parsed.config.runners).toHaveLength(2);
  });

  it('disables several runners, each for its own job-time errors (executor, shell, memory, ulimit, log_options)', () => {
    const text = [
      runner('ok'),
      runner('bad-executor').replace('executor = "docker"', 'executor = "dockr"\n  shell = "fish"'),
      runner('bad-sizes', '  [runners.docker]\n    cpus = "many"\n    [runners.docker.ulimit]\n      nofile = "x"\n'),
      runner('bad-logs', '  [runners.docker]\n    [runners.docker.log_options]\n      max-size = "1m"\n'),
    ].join('\n');
    const result = validateConfig(text, { partialRunners: true });
    expect(result.ok).toBe(true);
    expect(result.config?.runners?.map((r) => r.name)).toEqual(['ok']);
    expect(result.disabledRunners?.map((d) => [d.index, d.name, d.issues.map((i) => `${i.code} ${i.path}`)])).toEqual([
      [1, 'bad-executor', ['invalid_enum runners[1].executor', 'invalid_enum runners[1].shell']],
      [2, 'bad-sizes', ['invalid_format runners[2].docker.cpus', 'invalid_format runners[2].docker.ulimit.nofile']],
      [3, 'bad-logs', ['invalid_value runners[3].docker.log_options.max-size']],
    ]);
    // The remaining config is judged on its own: one runner now, so no concurrent_below_runners warning.
    expect(result.warnings?.map((w) => w.code)).toEqual(['runner_disabled', 'runner_disabled', 'runner_disabled']);
  });

  it('keeps rejecting the whole file for load-time errors, even inside one runner', () => {
    const typeError = [runner('a'), runner('b').replace('executor = "docker"', 'executor = 3')].join('\n');
    const labels = [runner('a'), runner('b', '  [runners.labels]\n    "bad key!" = "x"\n')].join('\n');
    const duration = [runner('a'), runner('b', '  [runners.docker]\n    wait_for_services_timeout = 1\n')].join('\n');
    for (const text of [typeError, labels]) {
      const result = validateConfig(text, { partialRunners: true });
      expect(result.ok, JSON.stringify(result.issues)).toBe(false);
    }
    expect(validateConfig(duration, { partialRunners: true }).ok).toBe(true);
  });

  it('keeps rejecting the whole file when a global key is wrong as well', () => {
    const text = `log_level = "loud"\n${runner('a')}\n${runner('b').replace('"docker"', '"dockr"')}`;
    const result = validateConfig(text, { partialRunners: true });
    expect(result.ok).toBe(false);
    expect(result.issues.filter((i) => i.severity === 'error').map((i) => `${i.code} ${i.path}`)).toEqual([
      'invalid_enum log_level',
      'invalid_enum runners[1].executor',
    ]);
    expect(() => parseConfig(text, { partialRunners: true })).toThrow(/log_level/);
  });

  it('disables the runner of every shared invalid fixture whose error is job-time, and rejects the others', () => {
    const fixtures = join(
      import.meta.dirname,
      '..',
      '..',
      '..',
      '..',
      'shared',
      'spec',
      'fixtures',
      'config',
      'invalid',
    );
    const outcome = (name: string) => {
      const result = validateConfig(readFileSync(join(fixtures, `${name}.toml`), 'utf8'), { partialRunners: true });
      return result.ok ? `disabled ${result.disabledRunners?.map((d) => d.index).join(',')}` : 'rejected';
    };
    expect(
      Object.fromEntries(
        [
          'executor-unknown',
          'pull-policy-unknown',
          'memory-format',
          'case-duplicate',
          'concurrent-zero',
          'label-key-invalid',
          'machine-timezone',
          'limit-string',
          'duration-words',
        ].map((name) => [name, outcome(name)]),
      ),
    ).toMatchInlineSnapshot(`
      {
        "case-duplicate": "rejected",
        "concurrent-zero": "rejected",
        "duration-words": "rejected",
        "executor-unknown": "disabled 0",
        "label-key-invalid": "rejected",
        "limit-string": "rejected",
        "machine-timezone": "rejected",
        "memory-format": "disabled 0",
        "pull-policy-unknown": "disabled 0",
      }
    `);
  });
});

describe('duplicate_key', () => {
  it('points at the second spelling', () => {
    const text = `${runner('r')}  [runners.docker]\n    image = "alpine:3.20"\n    Image = "ubuntu:24.04"\n`;
    const issue = validateConfig(text).issues.find((i) => i.code === 'duplicate_key');
    expect(issue).toMatchObject({ path: 'runners[0].docker.image', line: 8, column: 5 });
  });

  it('points at the second header of a table written twice in two cases', () => {
    const text = `${runner('r')}  [runners.docker]\n    image = "a"\n  [runners.Docker]\n    tty = true\n`;
    const issue = validateConfig(text).issues.find((i) => i.code === 'duplicate_key');
    expect(issue).toMatchObject({ path: 'runners[0].docker', line: 8 });
  });
});
