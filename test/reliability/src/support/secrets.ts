// Random secrets that cannot be confused with anything else a trace holds, and the leak check.
import fc from 'fast-check';

/**
 * Letters only, without `m` and `K` (the letters ANSI colour and erase sequences end with) and without the
 * letters of `[MASKED]`, so a fragment of a secret found in a trace is a leak, not a coincidence.
 */
export const SECRET_ALPHABET = 'bcdfghijlnopqrtuvwxyzBCFGHIJLNOPQRTUVWXYZ';

export const secretArbitrary = fc
  .array(fc.constantFrom(...SECRET_ALPHABET), { minLength: 12, maxLength: 40 })
  .map((letters) => letters.join(''));

/** GitLab refuses to mask values shorter than 8 characters; any 8 characters of a secret in a trace is a leak. */
export const LEAK_FRAGMENT = 8;

/** The first place where 8 consecutive characters of a secret appear in `text`, or undefined. */
export function findLeak(text: string, secrets: readonly string[]): string | undefined {
  for (const secret of secrets) {
    for (let start = 0; start + LEAK_FRAGMENT <= secret.length; start += 1) {
      const fragment = secret.slice(start, start + LEAK_FRAGMENT);
      const at = text.indexOf(fragment);
      if (at >= 0) {
        return `fragment ${JSON.stringify(fragment)} of a secret at offset ${at}: …${JSON.stringify(text.slice(Math.max(0, at - 60), at + 60))}…`;
      }
    }
  }
  return undefined;
}

/** Deterministic secrets for end-to-end jobs (seeded). */
export function sampleSecrets(count: number, seed: number): string[] {
  return fc.sample(secretArbitrary, { seed, numRuns: count });
}
