/**
 * The form of a URL that may be logged: scheme, host, port and path only. Presigned URLs carry their
 * credentials (signatures, SAS tokens, session tokens) in the query, and some URLs carry user:password.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    const text = String(url);
    const cut = text.search(/[?#]/);
    return (cut === -1 ? text : text.slice(0, cut)).replace(/\/\/[^/@]*@/, '//');
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
