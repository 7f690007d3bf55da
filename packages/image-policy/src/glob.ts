/**
 * Doublestar glob matching (`/` is the separator), the matcher GitLab Runner uses for
 * allowed_images and friends. Written here rather than taken from picomatch/minimatch because
 * those add semantics doublestar lacks (leading `!` negation, extglobs, `{1..3}` ranges, dotfile
 * rules) and an allow-list must not be more permissive than GitLab's.
 *
 * - `*` any run of characters except `/`; `?` one character except `/`
 * - `**` as a whole path component: zero or more components (`a/**` also matches `a`)
 * - `[abc]`, `[a-z]`, `[!…]` / `[^…]`: one character (never `/`)
 * - `{a,b}` alternatives (may nest and contain `/`); `\` escapes the next character
 * - a malformed pattern (unclosed `[` or `{`) matches nothing, as doublestar's ErrBadPattern does
 */

const REGEXP_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

function literal(char: string): string {
  return char.replace(REGEXP_SPECIAL, '\\$&');
}

class BadPattern extends Error {}

interface Compiled {
  source: string;
  end: number;
}

function isBoundary(char: string | undefined, inBraces: boolean): boolean {
  return char === undefined || char === '/' || (inBraces && (char === ',' || char === '}'));
}

function isStartBoundary(pattern: string, index: number, start: number, inBraces: boolean): boolean {
  if (index === start) return true;
  const previous = pattern[index - 1];
  return previous === '/' || (inBraces && (previous === ',' || previous === '{'));
}

function compileClass(pattern: string, index: number): Compiled {
  // index points at '['
  let i = index + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  while (i < pattern.length) {
    const char = pattern[i]!;
    if (char === ']' && !first) {
      return { source: negate ? `[^/${body}]` : `(?!/)[${body}]`, end: i + 1 };
    }
    first = false;
    let low = char;
    if (char === '\\') {
      i++;
      if (i >= pattern.length) break;
      low = pattern[i]!;
    }
    i++;
    if (pattern[i] === '-' && i + 1 < pattern.length && pattern[i + 1] !== ']') {
      let high = pattern[i + 1]!;
      i += 2;
      if (high === '\\') {
        if (i >= pattern.length) break;
        high = pattern[i]!;
        i++;
      }
      if (high < low) throw new BadPattern();
      body += `${literal(low)}-${literal(high)}`;
    } else {
      body += literal(low);
    }
  }
  throw new BadPattern();
}

function compileSequence(pattern: string, start: number, inBraces: boolean): Compiled {
  let source = '';
  let i = start;
  while (i < pattern.length) {
    const char = pattern[i]!;
    if (inBraces && (char === ',' || char === '}')) break;
    switch (char) {
      case '\\': {
        i++;
        if (i >= pattern.length) throw new BadPattern();
        source += literal(pattern[i]!);
        i++;
        break;
      }
      case '/': {
        // `/**` closing the pattern (or an alternative) also matches the directory itself.
        if (
          pattern[i + 1] === '*' &&
          pattern[i + 2] === '*' &&
          isBoundary(pattern[i + 3], inBraces) &&
          pattern[i + 3] !== '/'
        ) {
          source += '(?:/.*)?';
          i += 3;
        } else {
          source += '/';
          i++;
        }
        break;
      }
      case '*': {
        let stars = 0;
        while (pattern[i + stars] === '*') stars++;
        const wholeComponent =
          stars === 2 && isStartBoundary(pattern, i, start, inBraces) && isBoundary(pattern[i + 2], inBraces);
        if (wholeComponent && pattern[i + 2] === '/') {
          source += '(?:[^/]*/)*';
          i += 3;
        } else if (wholeComponent) {
          source += '.*';
          i += 2;
        } else {
          source += '[^/]*';
          i += stars;
        }
        break;
      }
      case '?': {
        source += '[^/]';
        i++;
        break;
      }
      case '[': {
        const compiled = compileClass(pattern, i);
        source += compiled.source;
        i = compiled.end;
        break;
      }
      case '{': {
        const alternatives: string[] = [];
        let j = i + 1;
        for (;;) {
          const alternative = compileSequence(pattern, j, true);
          alternatives.push(alternative.source);
          j = alternative.end;
          if (j >= pattern.length) throw new BadPattern();
          if (pattern[j] === '}') break;
          j++; // ','
        }
        source += `(?:${alternatives.join('|')})`;
        i = j + 1;
        break;
      }
      default: {
        source += literal(char);
        i++;
      }
    }
  }
  return { source, end: i };
}

// Allow-lists are short and checked for every job and service: keep the compiled patterns.
const cache = new Map<string, RegExp | undefined>();
const CACHE_LIMIT = 512;

/** Compiles a doublestar pattern; `undefined` for a malformed pattern (which matches nothing). */
export function compileGlob(pattern: string): RegExp | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  const compiled = compileUncached(pattern);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, compiled);
  return compiled;
}

function compileUncached(pattern: string): RegExp | undefined {
  try {
    const compiled = compileSequence(pattern, 0, false);
    if (compiled.end !== pattern.length) return undefined;
    return new RegExp(`^${compiled.source}$`, 's');
  } catch (error) {
    if (error instanceof BadPattern) return undefined;
    throw error;
  }
}

/** Whether `value` matches the doublestar `pattern` as a whole. */
export function matchGlob(pattern: string, value: string): boolean {
  return compileGlob(pattern)?.test(value) ?? false;
}
