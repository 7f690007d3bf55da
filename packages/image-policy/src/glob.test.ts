import { describe, expect, it } from 'vitest';
import { compileGlob, matchGlob } from './glob.js';

// [pattern, value, matches] — doublestar v4 semantics.
const cases: Array<[string, string, boolean]> = [
  ['*', 'ruby:2.1', true],
  ['*', 'library/ruby', false],
  ['*', '.hidden', true],
  ['?uby', 'ruby', true],
  ['?', '/', false],
  ['**', 'a/b/c', true],
  ['**/*', 'ruby', true],
  ['**/*', 'a/b/ruby:1', true],
  ['a/**', 'a', true],
  ['a/**', 'a/b/c', true],
  ['a/**', 'ab', false],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/x/y/c', false],
  ['a**', 'abc', true],
  ['a**', 'a/bc', false],
  ['ruby:[0-9]*', 'ruby:3.3', true],
  ['ruby:[0-9]*', 'ruby:latest', false],
  ['ruby:[!0-9]*', 'ruby:latest', true],
  ['ruby:[^0-9]*', 'ruby:3', false],
  ['a[/]b', 'a/b', false],
  ['{ruby,python}:*', 'python:3', true],
  ['{ruby,python}:*', 'node:20', false],
  ['{a/*,b}', 'a/x', true],
  ['{a,{b,c}}d', 'cd', true],
  ['ruby\\*', 'ruby*', true],
  ['ruby\\*', 'rubyx', false],
  ['!ruby', 'python', false],
  ['!ruby', '!ruby', true],
  ['+(a|b)', 'a', false],
  ['{1..3}', '2', false],
  ['ruby.*', 'rubyx1', false],
  ['[abc', '[abc', false],
  ['{a,b', 'a', false],
  ['[z-a]', 'b', false],
];

describe('doublestar glob', () => {
  it.each(cases)('%s ~ %s → %s', (pattern, value, expected) => {
    expect(matchGlob(pattern, value)).toBe(expected);
  });

  it('reports malformed patterns as undefined (they match nothing)', () => {
    expect([compileGlob('[abc'), compileGlob('{a,b'), compileGlob('trailing\\')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});
