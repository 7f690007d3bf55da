// Quoting of one shell word (job-execution §5.2).

const BARE = /^[,\-./0-9@A-Z_a-z]+$/;
const ANSI_C_ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  39: "\\'",
  92: '\\\\',
};
// Printable ASCII kept as is inside $'…': the bare set plus these.
const ANSI_C_KEEP = new Set(' !"#$%&()*+:;<=>?[]^`{|}~'.split('').map((c) => c.charCodeAt(0)));
const encoder = new TextEncoder();

/**
 * Bash ANSI-C quoting (`$'…'`), GitLab Runner's default. Every byte survives, except NUL, which no shell
 * string can hold (bash ends the word there).
 */
export function quoteAnsiC(word: string): string {
  if (word === '') return "''";
  if (BARE.test(word)) return word;
  let out = "$'";
  for (const byte of encoder.encode(word)) {
    const escaped = ANSI_C_ESCAPES[byte];
    if (escaped !== undefined) out += escaped;
    else if (ANSI_C_KEEP.has(byte) || (byte < 0x80 && BARE.test(String.fromCharCode(byte))))
      out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out + "'";
}

// GitLab's set (space ! # % & ( ) * < = > ? [ | ` " \ $) plus every other byte the shell would read as syntax
// or a separator (controls other than \f, ; ' { } ] ^ ~), so every value survives.
const POSIX_SPECIAL = /[\x00-\x0b\x0d-\x20!"#$%&'()*;<=>?[\\\]^`{|}~]/;

/**
 * POSIX double-quote quoting (`FF_POSIXLY_CORRECT_ESCAPES`, for shells without `$'…'` such as dash). Unlike
 * GitLab Runner, words holding a newline, tab or other shell syntax (`;`, `'`, `{` …) are quoted too.
 */
export function quotePosix(word: string): string {
  if (word === '') return "''";
  if (!POSIX_SPECIAL.test(word)) return word;
  return `"${word.replace(/[`"\\$]/g, (c) => `\\${c}`)}"`;
}

export type QuoteStyle = 'ansi-c' | 'posix';

export function quote(word: string, style: QuoteStyle): string {
  return style === 'posix' ? quotePosix(word) : quoteAnsiC(word);
}
