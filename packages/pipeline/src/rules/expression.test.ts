import { describe, expect, it } from 'vitest';
import { ExpressionError, parseExpression } from './expression.js';

const variables: Record<string, string> = {
  BRANCH: 'feature/login',
  MAIN: 'main',
  EMPTY: '',
  PATTERN: '/^FEATURE/i',
  MULTI: 'line1\nline2',
};
const lookup = (name: string) => variables[name];
const evaluate = (text: string) => parseExpression(text).evaluate(lookup);

describe('GitLab CI expressions', () => {
  it.each([
    ['$BRANCH', true],
    ['$EMPTY', false],
    ['$UNDEFINED', false],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: GitLab's ${VAR} syntax, not a template
    ['${BRANCH} == "feature/login"', true],
    ["$MAIN == 'main'", true],
    ['$MAIN != "main"', false],
    ['$UNDEFINED == null', true],
    ['$EMPTY == null', false],
    ['$EMPTY == ""', true],
    ['$UNDEFINED == ""', false],
    ['null == $UNDEFINED', true],
    ['$BRANCH =~ /^feature/', true],
    ['$BRANCH =~ /^FEATURE/', false],
    ['$BRANCH =~ /^FEATURE/i', true],
    ['$BRANCH !~ /^release/', true],
    ['$UNDEFINED =~ /.*/', false],
    ['$UNDEFINED !~ /.*/', true],
    ['$BRANCH =~ $PATTERN', true],
    ['$MULTI =~ /^line2$/m', true],
    ['$MAIN == "main" && $EMPTY', false],
    ['$MAIN == "x" || $BRANCH', true],
    ['$MAIN == "x" && $BRANCH || $MAIN', true],
    ['$MAIN == "x" && ($BRANCH || $MAIN)', false],
    ['($MAIN == "main" || $X) && ($BRANCH =~ /login$/)', true],
    ['$MAIN == $MAIN', true],
  ])('%s → %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });

  it.each([
    ['$A ==', 'unexpected end of expression'],
    ['($A == "b"', 'missing closing parenthesis'],
    ['$A = "b"', 'unexpected `= "b"` at character 4'],
    ['$A =~ "text"', 'the right side of =~ should be a /pattern/ or a variable'],
    ['$A == "b" )', 'unexpected token at character 11'],
    ['$A =~ /(/', 'invalid regular expression /(/: Invalid regular expression: /(/: Unterminated group'],
  ])('rejects %s', (text, message) => {
    expect(() => evaluate(text)).toThrowError(new ExpressionError(message, text));
  });
});
