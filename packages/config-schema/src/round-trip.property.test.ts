import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, stringify, validateConfig } from './index.js';

/** Generated valid configs, already in normalised form, must survive stringify → parse unchanged. */

const text = fc.string({ maxLength: 20, unit: 'grapheme' });
const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/);
const unknownKey = fc.stringMatching(/^zz_[a-z0-9_.-]{1,10}$/);
const durationText = fc
  .tuple(fc.nat({ max: 48 }), fc.nat({ max: 59 }), fc.nat({ max: 59 }))
  .map(([h, m, s]) => (h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`));
const pullPolicy = fc.subarray(['always', 'if-not-present', 'never'] as const, { minLength: 1 });

const docker = fc.record(
  {
    image: text,
    privileged: fc.boolean(),
    pull_policy: pullPolicy,
    volumes: fc.array(text, { maxLength: 3 }),
    shm_size: fc.integer({ min: 0, max: 2 ** 40 }),
    sysctls: fc.dictionary(fc.stringMatching(/^[a-z.]{1,12}$/), text, { maxKeys: 3 }),
    services: fc.array(fc.record({ name: text, alias: text }, { requiredKeys: ['name'] }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const runner = fc.record(
  {
    name: text,
    url: fc.constant('https://gitlab.example.com/'),
    token: fc.stringMatching(/^glrt-[A-Za-z0-9_]{5,20}$/),
    executor: fc.constantFrom('shell', 'docker', 'ssh', 'custom'),
    limit: fc.integer({ min: 0, max: 100 }),
    unhealthy_interval: durationText,
    environment: fc.array(
      fc.tuple(word, text).map(([k, v]) => `${k}=${v}`),
      { maxLength: 3 },
    ),
    feature_flags: fc.dictionary(
      fc.constantFrom('FF_NETWORK_PER_BUILD', 'FF_TIMESTAMPS', 'FF_SCRIPT_SECTIONS'),
      fc.boolean(),
    ),
    docker,
    ssh: fc.record({ host: text, port: fc.constantFrom('22', '2222'), user: word }, { requiredKeys: [] }),
    zz_future: fc.oneof(text, fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 })),
  },
  { requiredKeys: ['url', 'token', 'executor'] },
);

const config = fc
  .record(
    {
      concurrent: fc.integer({ min: 1, max: 1000 }),
      check_interval: fc.integer({ min: -5, max: 60 }),
      log_level: fc.constantFrom('debug', 'info', 'warning', 'ERROR'),
      connection_max_age: durationText,
      session_server: fc.record(
        { listen_address: text, session_timeout: fc.integer({ min: 0, max: 9999 }) },
        { requiredKeys: [] },
      ),
      runners: fc.array(runner, { maxLength: 4 }),
    },
    { requiredKeys: ['concurrent', 'runners'] },
  )
  .chain((base) =>
    fc.dictionary(unknownKey, fc.oneof(text, fc.integer()), { maxKeys: 2 }).map((extra) => ({ ...base, ...extra })),
  );

describe('generated configs', () => {
  it('round-trip through stringify and parse with every value and unknown key kept', () => {
    fc.assert(
      fc.property(config, (generated) => {
        const written = stringify(generated);
        const result = validateConfig(written);
        expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
        expect(result.config).toEqual(generated);
        expect(parseConfig(stringify(result.config ?? {})).config).toEqual(generated);
      }),
      { numRuns: 150 },
    );
  });
});
