/** Encodes an id or name as one path segment. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** Encodes an image reference; `/` and `:` stay (the daemon routes `/images/{name:.*}/json`). */
export function imageSegment(value: string): string {
  return value
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%3A/gi, ':').replace(/%40/g, '@'))
    .join('/');
}
