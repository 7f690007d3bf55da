import { formatPath, type PathSegment } from '../issues.js';

/**
 * Where each key path is written in a TOML text (1-based line and column of its key, header or array element).
 * smol-toml returns values only, so this small scanner walks the (already validated) text once, tracking table
 * headers and array-of-tables indices. Paths are stored lower-cased so canonical spellings find case variants.
 */
export interface Position {
  line: number;
  column: number;
}

/** Every place a path is written, in text order, with the spelling of its last key (case variants differ). */
type Places = Map<string, { position: Position; spelling: PathSegment | undefined }[]>;

export class Locator {
  readonly #positions: Places = new Map();

  constructor(text: string) {
    try {
      new Scanner(text, this.#positions).run();
    } catch {
      // The text was parsed by smol-toml first; a scanner surprise only costs line numbers.
    }
  }

  /**
   * Position of the path, or of its closest located parent. With `spelling`, the place where the path's last key is
   * written exactly so (a case variant such as `Image` beside `image`); otherwise the first place.
   */
  find(segments: readonly PathSegment[], spelling?: string): Position | undefined {
    for (let length = segments.length; length > 0; length--) {
      const places = this.#positions.get(formatPath(segments.slice(0, length)).toLowerCase());
      if (!places) continue;
      const exact = length === segments.length && spelling !== undefined;
      return ((exact ? places.find((place) => place.spelling === spelling) : undefined) ?? places[0])?.position;
    }
    return undefined;
  }
}

const BARE_KEY = /[A-Za-z0-9_-]/;

class Scanner {
  #i = 0;
  #line = 1;
  #lineStart = 0;
  readonly #arrayCounts = new Map<string, number>();

  constructor(
    private readonly text: string,
    private readonly positions: Places,
  ) {}

  run(): void {
    let table: PathSegment[] = [];
    const text = this.text;
    if (text.charCodeAt(0) === 0xfeff) this.#i = 1;
    while (this.#i < text.length) {
      this.#skipBlank(true);
      if (this.#i >= text.length) break;
      const ch = text[this.#i];
      if (ch === '#') {
        this.#skipComment();
      } else if (ch === '[') {
        const position = this.#here();
        const isArray = text[this.#i + 1] === '[';
        this.#i += isArray ? 2 : 1;
        const keys = this.#readKey();
        this.#i += isArray ? 2 : 1;
        table = this.#resolveHeader(keys, isArray, position);
      } else {
        const position = this.#here();
        const keys = this.#readKey();
        const path = [...table, ...keys];
        this.#recordPrefixes(table, keys, position);
        this.#skipBlank(false);
        if (text[this.#i] === '=') this.#i++;
        this.#skipBlank(false);
        this.#readValue(path);
      }
      this.#skipToLineEnd();
    }
  }

  #here(): Position {
    return { line: this.#line, column: this.#i - this.#lineStart + 1 };
  }

  #record(path: PathSegment[], position: Position): void {
    const key = formatPath(path).toLowerCase();
    const spelling = path[path.length - 1];
    const places = this.positions.get(key);
    if (!places) this.positions.set(key, [{ position, spelling }]);
    else if (!places.some((place) => place.spelling === spelling)) places.push({ position, spelling });
  }

  #recordPrefixes(base: PathSegment[], keys: string[], position: Position): void {
    for (let n = 1; n <= keys.length; n++) this.#record([...base, ...keys.slice(0, n)], position);
  }

  #resolveHeader(keys: string[], isArray: boolean, position: Position): PathSegment[] {
    const concrete: PathSegment[] = [];
    keys.forEach((key, n) => {
      concrete.push(key);
      const id = formatPath(concrete).toLowerCase();
      const last = n === keys.length - 1;
      if (last && isArray) {
        const count = this.#arrayCounts.get(id) ?? 0;
        this.#arrayCounts.set(id, count + 1);
        this.#record(concrete, position);
        concrete.push(count);
      } else {
        const count = this.#arrayCounts.get(id);
        if (count !== undefined) concrete.push(count - 1);
      }
      this.#record(concrete, position);
    });
    return concrete;
  }

  #newline(): void {
    this.#line++;
    this.#lineStart = this.#i + 1;
  }

  /** Skips spaces and tabs; with `newlines`, also line breaks and comments. */
  #skipBlank(newlines: boolean): void {
    const text = this.text;
    while (this.#i < text.length) {
      const ch = text[this.#i];
      if (ch === ' ' || ch === '\t' || ch === '\r') this.#i++;
      else if (newlines && ch === '\n') {
        this.#newline();
        this.#i++;
      } else if (newlines && ch === '#') this.#skipComment();
      else break;
    }
  }

  #skipComment(): void {
    while (this.#i < this.text.length && this.text[this.#i] !== '\n') this.#i++;
  }

  #skipToLineEnd(): void {
    this.#skipBlank(false);
    this.#skipComment();
  }

  #readKey(): string[] {
    const keys: string[] = [];
    const text = this.text;
    for (;;) {
      this.#skipBlank(false);
      const ch = text[this.#i];
      if (ch === '"' || ch === "'") keys.push(this.#readString());
      else {
        const start = this.#i;
        while (this.#i < text.length && BARE_KEY.test(text[this.#i] ?? '')) this.#i++;
        if (this.#i === start) break;
        keys.push(text.slice(start, this.#i));
      }
      this.#skipBlank(false);
      if (text[this.#i] !== '.') break;
      this.#i++;
    }
    this.#skipBlank(false);
    return keys;
  }

  /** Reads a quoted string (any of the four kinds) and returns its approximate value. */
  #readString(): string {
    const text = this.text;
    const quote = text[this.#i] ?? '"';
    const multi = text.startsWith(quote.repeat(3), this.#i);
    const delimiter = multi ? quote.repeat(3) : quote;
    this.#i += delimiter.length;
    const start = this.#i;
    while (this.#i < text.length) {
      const ch = text[this.#i];
      if (quote === '"' && ch === '\\') {
        if (text[this.#i + 1] === '\n') this.#newline();
        this.#i += 2;
        continue;
      }
      if (text.startsWith(delimiter, this.#i)) {
        let end = this.#i;
        // A multi-line string may end with up to two extra quotes before its delimiter.
        while (multi && text[end + 3] === quote && end + 3 < text.length && end - this.#i < 2) end++;
        this.#i = end + delimiter.length;
        const raw = text.slice(start, end);
        return quote === '"' ? unescapeBasic(raw) : raw;
      }
      if (ch === '\n') this.#newline();
      this.#i++;
    }
    return text.slice(start);
  }

  #readValue(path: PathSegment[]): void {
    const text = this.text;
    const ch = text[this.#i];
    if (ch === '"' || ch === "'") {
      this.#readString();
    } else if (ch === '[') {
      this.#i++;
      let index = 0;
      for (;;) {
        this.#skipBlank(true);
        if (this.#i >= text.length || text[this.#i] === ']') break;
        this.#record([...path, index], this.#here());
        const before = this.#i;
        this.#readValue([...path, index]);
        index++;
        this.#skipBlank(true);
        if (text[this.#i] === ',') this.#i++;
        else if (this.#i === before) this.#i++;
      }
      this.#i++;
    } else if (ch === '{') {
      this.#i++;
      for (;;) {
        this.#skipBlank(true);
        if (this.#i >= text.length || text[this.#i] === '}') break;
        const position = this.#here();
        const before = this.#i;
        const keys = this.#readKey();
        this.#recordPrefixes(path, keys, position);
        if (text[this.#i] === '=') this.#i++;
        this.#skipBlank(false);
        this.#readValue([...path, ...keys]);
        this.#skipBlank(true);
        if (text[this.#i] === ',') this.#i++;
        else if (this.#i === before) this.#i++;
      }
      this.#i++;
    } else {
      while (this.#i < text.length && !',]}#\n'.includes(text[this.#i] ?? '')) this.#i++;
    }
  }
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  e: '\x1b',
  '"': '"',
  '\\': '\\',
};

function unescapeBasic(raw: string): string {
  return raw.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)/gs, (_, sequence: string) => {
    const kind = sequence[0];
    if (kind === 'u' || kind === 'U' || kind === 'x')
      return String.fromCodePoint(Number.parseInt(sequence.slice(1), 16));
    return ESCAPES[sequence] ?? '';
  });
}
