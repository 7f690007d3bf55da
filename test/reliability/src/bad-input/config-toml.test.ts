// Mutated config.toml files: config-schema answers with issues or ConfigValidationError, never anything else,
// and whatever it accepts survives a write and a re-read.
import { ConfigSchemaError, parseConfig, stringify, validateConfig } from '@runnerkit/config-schema';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { configSeeds } from '../support/fixtures.js';
import { flushFuzzCases, fuzzCase, fuzzParameters, withinTime } from '../support/fuzz.js';
import { mutateText, textMutation } from '../support/mutate.js';

const seeds = configSeeds();
const SNIPPETS = [
  '[',
  ']]',
  '[[runners]]',
  '[runners.docker]',
  '[[runners.docker.services]]',
  '[runners.cache.s3]',
  'concurrent = ',
  'executor = "docker"',
  'pull_policy = ["never", "sometimes"]',
  'memory = "1x"',
  'volumes = ["/a:/b:rw", 3]',
  'a.b.c = 1',
  '"""',
  "'''",
  '=',
  '\ufeff',
  '\r\n',
  '\u0000',
  '# comment',
];

afterAll(flushFuzzCases);

function expectTypedFailure(text: string): void {
  let thrown: unknown;
  try {
    parseConfig(text, { source: 'fuzz.toml' });
  } catch (error) {
    thrown = error;
  }
  expect(ConfigSchemaError.isInstance(thrown), String(thrown)).toBe(true);
  const error = thrown as ConfigSchemaError & { issues: readonly { code: string; path: string; message: string }[] };
  expect(error.code).toBe('CONFIG_SCHEMA_INVALID');
  expect(error.message).toMatch(/^fuzz\.toml is invalid/);
  expect(error.issues.length).toBeGreaterThan(0);
  for (const issue of error.issues) {
    expect(typeof issue.code).toBe('string');
    expect(typeof issue.path).toBe('string');
    expect(issue.message).not.toBe('');
  }
}

describe('config.toml: mutated files', () => {
  it('only ever yield issues or ConfigValidationError; accepted configs round-trip through stringify', () => {
    expect(seeds.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(textMutation(SNIPPETS), { minLength: 1, maxLength: 6 }),
        (seed, mutations) => {
          fuzzCase();
          const text = mutateText(seeds[seed] ?? '', mutations, '=');
          const result = withinTime(2_000, 'validateConfig', () => validateConfig(text));
          if (!result.ok) {
            expect(result.issues.some((issue) => issue.severity === 'error')).toBe(true);
            expectTypedFailure(text);
            return;
          }
          const written = withinTime(2_000, 'stringify', () => stringify(result.config));
          const again = validateConfig(written);
          expect(again.ok, `${written}\n${JSON.stringify(again.issues)}`).toBe(true);
        },
      ),
      fuzzParameters(400),
    );
  });

  it('random bytes and deep nesting are refused with a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.nat({ max: 5_000 }).map((depth) => `a = ${'['.repeat(depth)}${']'.repeat(depth)}`),
          fc.nat({ max: 5_000 }).map((depth) => `a = ${'{ b = '.repeat(depth)}1${' }'.repeat(depth)}`),
          fc.nat({ max: 3_000 }).map((count) => '[[runners]]\n'.repeat(count)),
        ),
        (text) => {
          fuzzCase();
          const result = withinTime(3_000, 'validateConfig', () => validateConfig(text));
          if (!result.ok) expectTypedFailure(text);
        },
      ),
      fuzzParameters(150),
    );
  });
});
