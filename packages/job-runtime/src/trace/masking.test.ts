import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMasker, MASKED, queryEscape } from './masker.js';

function maskInPieces(text: string, cuts: readonly number[], phrases: readonly string[]): string {
  const masker = createMasker({ phrases });
  let out = '';
  let last = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out += masker.push(text.slice(last, cut));
    last = cut;
  }
  return out + masker.push(text.slice(last)) + masker.flush();
}

const secretChar = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#%^&*()_+-= '.split(''),
);
const secret = fc
  .array(secretChar, { minLength: 8, maxLength: 40 })
  .map((chars) => chars.join(''))
  .filter((s) => s.trim() === s);

describe('masking a secret split at every point', () => {
  it('masks a random secret whatever the split point (exhaustive over one and two cuts)', () => {
    fc.assert(
      fc.property(secret, fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (value, before, after) => {
        const text = `${before}${value}${after}\n`;
        const whole = maskInPieces(text, [], [value]);
        expect(whole).not.toContain(value);
        for (let cut = 0; cut <= text.length; cut++) {
          expect(maskInPieces(text, [cut], [value])).toBe(whole);
        }
        for (let a = 0; a <= text.length; a += 3)
          for (let b = a; b <= text.length; b += 2) expect(maskInPieces(text, [a, b], [value])).toBe(whole);
      }),
      { numRuns: 60 },
    );
  });

  it('masks at every split point when the text is written one character at a time', () => {
    fc.assert(
      fc.property(secret, fc.array(fc.nat({ max: 200 }), { maxLength: 30 }), (value, cuts) => {
        const text = `x ${value} y ${value}${value} z\n`;
        const pieces = maskInPieces(
          text,
          cuts.map((cut) => cut % (text.length + 1)),
          [value],
        );
        expect(pieces).not.toContain(value);
        expect(pieces).toBe(`x ${MASKED} y ${MASKED}${MASKED} z\n`);
      }),
      { numRuns: 200 },
    );
  });

  it('masks the URL-encoded forms GitLab masks', () => {
    const value = 'p@ss w/rd&x';
    const masker = createMasker({ phrases: [value] });
    const text = `raw ${value} query ${queryEscape(value)} path ${encodeURIComponent(value)}\n`;
    expect(masker.push(text) + masker.flush()).toMatchInlineSnapshot(`
      "raw [MASKED] query [MASKED] path [MASKED]
      "
    `);
  });

  it('prefers the longest phrase at the same position', () => {
    const masker = createMasker({ phrases: ['abc', 'abcdef'] });
    expect(masker.push('xabcdefx abcx') + masker.flush()).toBe(`x${MASKED}x ${MASKED}x`);
  });
});

describe('token prefixes and URL parameters', () => {
  it('keeps the prefix and masks the token, also split across writes', () => {
    const text = 'token glpat-abc.DEF_12=3-x end glrt-zz9 and _gitlab_session=s3ss!\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const masker = createMasker({ phrases: [] });
      expect(masker.push(text.slice(0, cut)) + masker.push(text.slice(cut)) + masker.flush()).toBe(
        'token glpat-[MASKED] end glrt-[MASKED] and _gitlab_session=[MASKED]!\n',
      );
    }
  });

  it('masks only glpat- when FF_MASK_ALL_DEFAULT_TOKENS is off, plus the payload prefixes', () => {
    const masker = createMasker({ phrases: [], maskAllDefaultTokens: false, extraTokenPrefixes: ['mytok_'] });
    expect(masker.push('glpat-a glrt-b mytok_c\n') + masker.flush()).toBe('glpat-[MASKED] glrt-b mytok_[MASKED]\n');
  });

  it('masks the values of sensitive URL query parameters, case-insensitively', () => {
    const text =
      'GET https://x/api?private_token=abc123&page=2 https://s3/o?X-Amz-Credential=AK%2F1&x-amz-signature=dead#f\n';
    for (let cut = 0; cut <= text.length; cut += 1) {
      const masker = createMasker({ phrases: [] });
      expect(masker.push(text.slice(0, cut)) + masker.push(text.slice(cut)) + masker.flush()).toBe(
        'GET https://x/api?private_token=[MASKED]&page=2 https://s3/o?X-Amz-Credential=[MASKED]&x-amz-signature=[MASKED]#f\n',
      );
    }
  });
});
