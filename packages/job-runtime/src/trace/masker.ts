// Streaming maskers (job-execution §6.6): they see the trace in arbitrary pieces and hold back only what could
// still turn into a secret, so a value split across writes is masked exactly as a whole one.

export const MASKED = '[MASKED]';

export interface StreamMasker {
  /** Takes the next piece of text; returns what is safe to emit now. */
  push(text: string): string;
  /** Emits everything held back (end of a stream or stage). */
  flush(): string;
}

/** Go's url.QueryEscape: unreserved bytes stay, space → `+`, everything else `%XX`. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The forms of a secret GitLab masks: the value and its URL-encoded forms (query and path escaping). */
export function maskingForms(value: string): string[] {
  const forms = new Set([value, queryEscape(value), encodeURIComponent(value)]);
  return [...forms];
}

/** Replaces every occurrence of any phrase (longest first at equal positions) with `[MASKED]`. */
export class PhraseMasker implements StreamMasker {
  readonly #phrases: string[];
  readonly #maxLength: number;
  #pending = '';

  constructor(phrases: readonly string[]) {
    this.#phrases = [...new Set(phrases.filter((phrase) => phrase.length > 0))].sort((a, b) => b.length - a.length);
    this.#maxLength = this.#phrases[0]?.length ?? 0;
  }

  push(text: string): string {
    if (this.#phrases.length === 0) return text;
    const data = this.#pending + text;
    let out = '';
    let position = 0;
    for (;;) {
      let best = -1;
      let bestLength = 0;
      for (const phrase of this.#phrases) {
        const index = data.indexOf(phrase, position);
        if (index >= 0 && (best < 0 || index < best)) {
          best = index;
          bestLength = phrase.length;
        }
      }
      if (best < 0) break;
      out += data.slice(position, best) + MASKED;
      position = best + bestLength;
    }
    const hold = this.#holdBack(data, position);
    out += data.slice(position, data.length - hold);
    this.#pending = data.slice(data.length - hold);
    return out;
  }

  flush(): string {
    const rest = this.#pending;
    this.#pending = '';
    return rest;
  }

  // Longest suffix of data[from:] that is a proper prefix of some phrase.
  #holdBack(data: string, from: number): number {
    const available = data.length - from;
    for (let k = Math.min(this.#maxLength - 1, available); k > 0; k--) {
      const suffix = data.slice(data.length - k);
      if (this.#phrases.some((phrase) => phrase.length > k && phrase.startsWith(suffix))) return k;
    }
    return 0;
  }
}

/**
 * Masks the run of `valueChars` that follows any of `prefixes` (the prefix stays visible): token prefixes
 * (`glpat-abc` → `glpat-[MASKED]`) and URL query parameters (`?private_token=x` → `?private_token=[MASKED]`).
 */
export class PrefixMasker implements StreamMasker {
  readonly #prefixes: string[];
  readonly #pattern: RegExp;
  readonly #valueChar: RegExp;
  readonly #ignoreCase: boolean;
  #pending = '';

  constructor(prefixes: readonly string[], valueChars: string, ignoreCase: boolean) {
    this.#prefixes = [...new Set(prefixes.filter((prefix) => prefix.length > 0))].sort((a, b) => b.length - a.length);
    this.#ignoreCase = ignoreCase;
    const alternatives = this.#prefixes.map((prefix) => prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    this.#pattern = new RegExp(`(${alternatives})(${valueChars}+)`, ignoreCase ? 'gi' : 'g');
    this.#valueChar = new RegExp(`^${valueChars}$`);
  }

  push(text: string): string {
    if (this.#prefixes.length === 0) return text;
    return this.#process(this.#pending + text, false);
  }

  flush(): string {
    if (this.#prefixes.length === 0) return '';
    return this.#process(this.#pending, true);
  }

  #process(data: string, final: boolean): string {
    let out = '';
    let last = 0;
    this.#pattern.lastIndex = 0;
    for (let match = this.#pattern.exec(data); match !== null; match = this.#pattern.exec(data)) {
      const end = match.index + match[0].length;
      if (end === data.length && !final) {
        // The value may go on in the next piece: keep it (and its prefix) until we know where it ends.
        out += data.slice(last, match.index);
        this.#pending = data.slice(match.index);
        return out;
      }
      out += data.slice(last, match.index) + match[1] + MASKED;
      last = end;
    }
    const hold = final ? 0 : this.#holdBack(data, last);
    out += data.slice(last, data.length - hold);
    this.#pending = data.slice(data.length - hold);
    return out;
  }

  // Longest suffix of data[from:] that is a prefix of some prefix (a full prefix counts: its value may follow).
  #holdBack(data: string, from: number): number {
    const window = data.slice(Math.max(from, data.length - this.#prefixes[0]!.length));
    const tail = this.#ignoreCase ? window.toLowerCase() : window;
    for (let k = tail.length; k > 0; k--) {
      const suffix = tail.slice(tail.length - k);
      for (const prefix of this.#prefixes) {
        const candidate = this.#ignoreCase ? prefix.toLowerCase() : prefix;
        if (candidate.length >= k && candidate.startsWith(suffix)) return k;
      }
    }
    return 0;
  }

  /** True when `char` can continue a masked value (exposed for tests). */
  isValueChar(char: string): boolean {
    return this.#valueChar.test(char);
  }
}

export const DEFAULT_TOKEN_PREFIXES = [
  'gloas-',
  'gldt-',
  'glrt-',
  'glcbt-',
  'glrtr-',
  'glptt-',
  'glft-',
  'glimt-',
  'glagent-',
  'glsoat-',
  'glffct-',
  '_gitlab_session=',
  'gltok-',
];

export const URL_PARAMETERS_MASKED = [
  'private_token',
  'authenticity_token',
  'rss_token',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
];

export interface MaskingOptions {
  /** Masked variable values (and the job token). URL-encoded forms are added. */
  phrases: readonly string[];
  /** `FF_MASK_ALL_DEFAULT_TOKENS` (default true). */
  maskAllDefaultTokens?: boolean | undefined;
  /** Payload `features.token_mask_prefixes`. At most 15 prefixes are honoured in total. */
  extraTokenPrefixes?: readonly string[] | undefined;
}

class ChainMasker implements StreamMasker {
  readonly #stages: StreamMasker[];
  constructor(stages: StreamMasker[]) {
    this.#stages = stages;
  }
  push(text: string): string {
    let data = text;
    for (const stage of this.#stages) data = stage.push(data);
    return data;
  }
  flush(): string {
    let carried = '';
    for (const stage of this.#stages) carried = stage.push(carried) + stage.flush();
    return carried;
  }
}

/** The full masking chain in GitLab's order: phrases, URL parameters, token prefixes. */
export function createMasker(options: MaskingOptions): StreamMasker {
  const phrases = options.phrases.flatMap(maskingForms);
  const prefixes = ['glpat-', ...(options.maskAllDefaultTokens === false ? [] : DEFAULT_TOKEN_PREFIXES)];
  for (const prefix of options.extraTokenPrefixes ?? []) if (!prefixes.includes(prefix)) prefixes.push(prefix);
  return new ChainMasker([
    new PhraseMasker(phrases),
    new PrefixMasker(
      URL_PARAMETERS_MASKED.flatMap((name) => [`?${name}=`, `&${name}=`]),
      `[^&\\s"'<>#]`,
      true,
    ),
    new PrefixMasker(prefixes.slice(0, 15), '[0-9A-Za-z._=-]', false),
  ]);
}
