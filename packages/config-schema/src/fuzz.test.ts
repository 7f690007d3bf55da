import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, parseConfig, validateConfig } from './index.js';

/** Mutated fixtures must only ever produce issues or the typed error: never another exception, never a hang. */

const ROOT = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'spec', 'fixtures', 'config');
const seeds = ['valid', 'invalid'].flatMap((directory) =>
  readdirSync(join(ROOT, directory))
    .filter((name) => name.endsWith('.toml'))
    .map((name) => readFileSync(join(ROOT, directory, name), 'utf8')),
);

const SNIPPETS = [
  '[',
  ']',
  '[[',
  ']]',
  '=',
  '"',
  "'''",
  '"""',
  '{',
  '}',
  ',',
  '.',
  '\n',
  '#',
  '0',
  '-1',
  '4.0',
  '9999999999999999999',
  'true',
  '"x"',
  '[]',
  '{}',
  '1979-05-27T07:32:00Z',
  '[runners]',
  '[[runners]]',
  '[runners.docker]',
  '[[runners.docker.services]]',
  'Image = 1',
  'pull_policy = 3',
  'concurrent = "a"',
  'x.y.z = 1',
  '\\u0000',
  '\ufeff',
  '\r\n',
];

type Mutation = (text: string) => string;
const position = (text: string, at: number) => (text.length === 0 ? 0 : at % (text.length + 1));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat({ max: 40 })).map(
    ([at, length]): Mutation =>
      (text) => {
        const start = position(text, at);
        return text.slice(0, start) + text.slice(start + length);
      },
  ),
  fc.tuple(fc.nat(), fc.constantFrom(...SNIPPETS)).map(
    ([at, snippet]): Mutation =>
      (text) => {
        const start = position(text, at);
        return text.slice(0, start) + snippet + text.slice(start);
      },
  ),
  fc.tuple(fc.nat(), fc.string({ maxLength: 8, unit: 'binary' })).map(
    ([at, noise]): Mutation =>
      (text) => {
        const start = position(text, at);
        return text.slice(0, start) + noise + text.slice(start + noise.length);
      },
  ),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([a, b]): Mutation =>
      (text) => {
        const lines = text.split('\n');
        const i = a % lines.length;
        const j = b % lines.length;
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        return lines.join('\n');
      },
  ),
  fc.nat().map(
    (at): Mutation =>
      (text) => {
        const lines = text.split('\n');
        const i = at % lines.length;
        lines.splice(i, 0, lines[i] ?? '');
        return lines.join('\n');
      },
  ),
);

describe('fuzzing mutated fixtures', () => {
  it('only ever yields issues or ConfigValidationError, quickly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, mutations) => {
        const text = mutations.reduce((current, mutate) => mutate(current), seed);
        const started = performance.now();
        const result = validateConfig(text);
        expect(performance.now() - started).toBeLessThan(2000);
        expect(Array.isArray(result.issues)).toBe(true);
        for (const issue of result.issues) {
          expect(typeof issue.path).toBe('string');
          expect(typeof issue.message).toBe('string');
        }
        try {
          parseConfig(text);
          expect(result.ok).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigValidationError);
          expect(result.ok).toBe(false);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
