/** Token prefixes GitLab uses; the prefix says what kind of token it is and is safe to show. */
const KNOWN_PREFIXES = [
  'glrtr-',
  'glrt-',
  'glcbt-',
  'glpat-',
  'gloas-',
  'gldt-',
  'glptt-',
  'glft-',
  'glimt-',
  'glagent-',
  'glsoat-',
  'glffct-',
  'gltok-',
  'GR1348941',
];

/** `glrt-abc123…` → `glrt-[MASKED]`; tokens without a known prefix become `[MASKED]`. */
export function maskToken(token: string | undefined | null): string {
  if (!token) return '';
  const prefix = KNOWN_PREFIXES.find((p) => token.startsWith(p));
  return `${prefix ?? ''}[MASKED]`;
}

const PREFIX_PATTERN = new RegExp(
  `(${KNOWN_PREFIXES.map((p) => p.replace(/[-]/g, '\\-')).join('|')})[A-Za-z0-9._=-]+`,
  'g',
);
const QUERY_PATTERN =
  /([?&](?:private_token|authenticity_token|rss_token|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|token)=)[^&#\s"']*/gi;
const USERINFO_PATTERN = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi;

/**
 * Removes credentials from any text the package shows (errors, events): the given secrets, anything that looks
 * like a GitLab token, URL user-info and credential query parameters.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(maskToken(secret));
  }
  return out
    .replace(PREFIX_PATTERN, (_m, prefix: string) => `${prefix}[MASKED]`)
    .replace(QUERY_PATTERN, '$1[MASKED]')
    .replace(USERINFO_PATTERN, '$1[MASKED]@');
}

/** A URL for messages: credentials and query values masked. */
export function redactUrl(url: string | URL): string {
  return redact(typeof url === 'string' ? url : url.toString());
}
