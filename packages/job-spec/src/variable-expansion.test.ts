import { describe, expect, it } from 'vitest';
import { createVariableLookup, expandRunnerValue, expandServerValue, expandVariables } from './index.js';

const variables = [
  { key: 'HOME_DIR', value: '/home/ci' },
  { key: 'NAME', value: 'first' },
  { key: 'NAME', value: 'last' },
  { key: 'RAW', value: 'has $HOME_DIR', raw: true },
  { key: 'KEY_FILE', value: 'secret-content', file: true },
];

describe('expandRunnerValue', () => {
  const lookup = createVariableLookup(variables, { filePath: (key) => `/tmp/build.tmp/${key}` });

  it.each([
    ['$HOME_DIR/bin', '/home/ci/bin'],
    ['${HOME_DIR}bin', '/home/cibin'],
    ['$NAME', 'last'],
    ['price $$5', 'price $5'],
    ['$$HOME_DIR', '$HOME_DIR'],
    ['$UNKNOWN-x', '-x'],
    ['${UNKNOWN}', ''],
    ['a $ b', 'a $ b'],
    ['end$', 'end$'],
    ['$1 $@ ${?} $#', '   '],
    ['${}x', 'x'],
    ['${unterminated', 'unterminated'],
    ['$KEY_FILE', '/tmp/build.tmp/KEY_FILE'],
    ['$RAW', 'has $HOME_DIR'],
    ['no dollars', 'no dollars'],
    ['%HOME_DIR%', '%HOME_DIR%'],
  ])('%s → %s', (input, expected) => {
    expect(expandRunnerValue(input, lookup)).toBe(expected);
  });
});

describe('expandServerValue', () => {
  it.each([
    ['$HOME_DIR/bin', '/home/ci/bin'],
    ['${HOME_DIR}', '/home/ci'],
    ['%HOME_DIR%', '/home/ci'],
    ['$NAME', 'last'],
    ['$$HOME_DIR', '$$HOME_DIR'],
    ['%%HOME_DIR%%', '%%HOME_DIR%%'],
    ['x$UNKNOWN', 'x'],
    ['$RAW', '$RAW'],
    ['$KEY_FILE', 'secret-content'],
    ['$1abc', '$1abc'],
  ])('%s → %s', (input, expected) => {
    expect(expandServerValue(input, variables)).toBe(expected);
  });

  it('keeps unknown references when asked', () => {
    expect(expandServerValue('$UNKNOWN and ${HOME_DIR}', variables, { keepUndefined: true })).toBe(
      '$UNKNOWN and /home/ci',
    );
  });

  it('can leave file references and expand raw ones', () => {
    expect(
      expandServerValue('$KEY_FILE $RAW', variables, { expandFileReferences: false, expandRawReferences: true }),
    ).toBe('$KEY_FILE has $HOME_DIR');
  });
});

describe('expandVariables', () => {
  it('expands every non-raw variable against the list and keeps raw ones untouched', () => {
    const expanded = expandVariables([
      { key: 'A', value: 'a' },
      { key: 'B', value: '$A-${A}-$$A-$MISSING' },
      { key: 'C', value: '$A', raw: true },
    ]);
    expect(expanded).toEqual([
      { key: 'A', value: 'a' },
      { key: 'B', value: 'a-a-$A-' },
      { key: 'C', value: '$A', raw: true },
    ]);
  });
});
