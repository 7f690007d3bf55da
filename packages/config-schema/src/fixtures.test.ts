import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from './index.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'spec', 'fixtures', 'config');
const valid = readdirSync(join(FIXTURES, 'valid')).filter((name) => name.endsWith('.toml'));
const invalid = readdirSync(join(FIXTURES, 'invalid')).filter((name) => name.endsWith('.toml'));

describe('valid fixtures', () => {
  it.each(valid)('%s produces the expected normalised JSON and warnings', (name) => {
    const text = readFileSync(join(FIXTURES, 'valid', name), 'utf8');
    const expected = JSON.parse(
      readFileSync(join(FIXTURES, 'valid', name.replace(/\.toml$/, '.expected.json')), 'utf8'),
    );
    const result = validateConfig(text);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(result.config).toEqual(expected.config);
    expect(result.effective).toEqual(expected.effective);
    const warnings = result.issues.map(({ path, code }) => ({ path, code }));
    expect(new Set(warnings.map((w) => JSON.stringify(w)))).toEqual(
      new Set(expected.warnings.map((w: unknown) => JSON.stringify(w))),
    );
  });
});

describe('invalid fixtures', () => {
  it.each(invalid)('%s yields an error naming the expected path', (name) => {
    const text = readFileSync(join(FIXTURES, 'invalid', name), 'utf8');
    const lines = readFileSync(join(FIXTURES, 'invalid', name.replace(/\.toml$/, '.expected.txt')), 'utf8').split('\n');
    const field = (key: string) =>
      lines.filter((line) => line.startsWith(`${key}: `)).map((line) => line.slice(key.length + 2));
    const result = validateConfig(text);
    expect(result.ok).toBe(false);
    const match = result.issues.find(
      (issue) => issue.severity === 'error' && issue.path === field('path')[0] && issue.code === field('code')[0],
    );
    expect(match, JSON.stringify(result.issues, null, 2)).toBeDefined();
    for (const mention of field('mention')) expect(match?.message.toLowerCase()).toContain(mention.toLowerCase());
  });
});
