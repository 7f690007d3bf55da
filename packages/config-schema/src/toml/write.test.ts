import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendRunner, ConfigWriteError, parseConfig, stringify, stringifyRunner } from '../index.js';

const VALID = join(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'spec', 'fixtures', 'config', 'valid');
const fixtures = readdirSync(VALID).filter((name) => name.endsWith('.toml'));

describe('stringify round-trip', () => {
  it.each(fixtures)('%s: parse → stringify → parse keeps every value, unknown key and warning', (name) => {
    const first = parseConfig(readFileSync(join(VALID, name), 'utf8'));
    const second = parseConfig(stringify(first.config));
    expect(second.config).toEqual(first.config);
    const keyOf = ({ path, code }: { path: string; code: string }) => `${path} ${code}`;
    expect(second.warnings.map(keyOf).sort()).toEqual(first.warnings.map(keyOf).sort());
  });

  it('writes what register writes, in GitLab layout (datetimes bare, durations as Go strings)', () => {
    const { config } = parseConfig(readFileSync(join(VALID, 'registered-docker.toml'), 'utf8'));
    expect(stringify(config)).toMatchInlineSnapshot(`
      "concurrent = 1
      check_interval = 0
      connection_max_age = "15m0s"
      shutdown_timeout = 0

      [session_server]
        session_timeout = 1800

      [[runners]]
        name = "build-host-01"
        url = "https://gitlab.example.com"
        id = 4711
        token = "glrt-t1_AbCdEfGhIjKlMnOpQrSt"
        token_obtained_at = 2024-05-02T08:15:00Z
        token_expires_at = 0001-01-01T00:00:00Z
        executor = "docker"
        [runners.cache]
          MaxUploadedArchiveSize = 0
          [runners.cache.s3]
          [runners.cache.gcs]
          [runners.cache.azure]
        [runners.docker]
          tls_verify = false
          image = "alpine:3.20"
          privileged = false
          disable_entrypoint_overwrite = false
          oom_kill_disable = false
          disable_cache = false
          volumes = ["/cache"]
          shm_size = 0
          network_mtu = 0
      "
    `);
  });

  it('escapes strings and quotes keys that are not bare', () => {
    const text = stringify({
      runners: [{ name: 'a "quoted"\\ name\n', docker: { sysctls: { 'net.ipv4.ip_forward': '1' } } }],
    });
    expect(text).toContain('name = "a \\"quoted\\"\\\\ name\\n"');
    expect(text).toContain('"net.ipv4.ip_forward" = "1"');
    expect(parseConfig(text).config.runners?.[0]?.name).toBe('a "quoted"\\ name\n');
  });

  it('refuses values TOML cannot hold, naming the path', () => {
    expect(() => stringify({ runners: [{ name: null }] })).toThrow(ConfigWriteError);
    expect(() => stringify({ runners: [{ name: null }] })).toThrow(/runners\[0\]\.name/);
  });
});

describe('appendRunner', () => {
  const runner = {
    name: 'new',
    url: 'https://gitlab.example.com',
    id: 7,
    token: 'glrt-new',
    token_obtained_at: '2024-05-02T08:15:00Z',
    token_expires_at: '0001-01-01T00:00:00Z',
    executor: 'docker',
    docker: { image: 'alpine:3.20', volumes: ['/cache'] },
  };

  it.each(fixtures)(
    '%s: the existing text stays byte for byte, its values intact, the runner is added last',
    (name) => {
      const text = readFileSync(join(VALID, name), 'utf8');
      const before = parseConfig(text);
      const after = parseConfig(appendRunner(text, runner));
      expect(appendRunner(text, runner).startsWith(text)).toBe(true);
      const runners = after.config.runners ?? [];
      expect(runners.slice(0, -1)).toEqual(before.config.runners ?? []);
      expect(runners.at(-1)).toEqual(runner);
      const { runners: _a, ...restAfter } = after.config;
      const { runners: _b, ...restBefore } = before.config;
      expect(restAfter).toEqual(restBefore);
    },
  );

  it('keeps CRLF line endings and a file without a final newline', () => {
    const text = 'concurrent = 2\r\n# comment kept\r\nlog_level = "info"';
    const result = appendRunner(text, { name: 'x' });
    expect(result).toBe(`${text}\r\n\r\n[[runners]]\r\n  name = "x"\r\n`);
  });

  it('refuses a file whose runners are an inline array (a [[runners]] block cannot extend it)', () => {
    expect(() => appendRunner('runners = [{ name = "a" }]\n', { name: 'b' })).toThrow(ConfigWriteError);
  });

  it('stringifyRunner writes one block', () => {
    expect(stringifyRunner({ name: 'r', docker: { image: 'x' } })).toMatchInlineSnapshot(`
      "[[runners]]
        name = "r"
        [runners.docker]
          image = "x"
      "
    `);
  });
});
