import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

export function randomText(length: number): string {
  const bytes = randomBytes(length);
  let text = '';
  for (const byte of bytes) text += ALPHABET[byte % ALPHABET.length];
  return text;
}

export const newCreatedRunnerToken = (): string => `glrt-${randomText(20)}`;
export const newRegisteredRunnerToken = (): string => `glrtr-${randomText(20)}`;
export const newRegistrationToken = (): string => `GR1348941${randomText(20)}`;
export const newJobToken = (): string => `glcbt-64_${randomText(20)}`;
export const newPersonalAccessToken = (): string => `glpat-${randomText(20)}`;
/** GitLab's runner queue value: random hex. */
export const newQueueValue = (): string => randomBytes(16).toString('hex');

/** Replaces every occurrence of each secret with `x` characters of equal length, so offsets do not change. */
export function maskSecrets(data: Buffer, secrets: readonly string[]): Buffer {
  let masked: Buffer | undefined;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    const needle = Buffer.from(secret);
    let at = (masked ?? data).indexOf(needle);
    while (at !== -1) {
      masked ??= Buffer.from(data);
      masked.fill(0x78, at, at + needle.length);
      at = masked.indexOf(needle, at + needle.length);
    }
  }
  return masked ?? data;
}
