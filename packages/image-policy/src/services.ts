import { InvalidServiceAliasError } from './errors.js';
import { parseImageReference } from './reference.js';

/** A service image split the way GitLab Runner names, labels and aliases service containers. */
export interface ServiceImage {
  /** The reference as written. */
  readonly reference: string;
  /** Reference without tag, digest and registry port: `registry.gitlab-wp.com/tutum/wordpress`. */
  readonly service: string;
  /** The tag, or `@<digest>`, or `latest`. */
  readonly version: string;
  /** The reference to pull: `:latest` added when it has neither tag nor digest. */
  readonly imageToPull: string;
  /** The automatic aliases: `/` → `__`, then `/` → `-` (the second omitted when identical). */
  readonly aliases: readonly string[];
}

/**
 * Splits a service reference into GitLab Runner's service name, version, image to pull and automatic aliases.
 * Throws {@link InvalidReferenceError} for a reference Docker would refuse.
 */
export function parseServiceImage(reference: string): ServiceImage {
  const parsed = parseImageReference(reference);
  let service = parsed.writtenName;
  const slash = service.indexOf('/');
  if (slash !== -1) {
    // The first component is a registry only when it can be one; drop its port.
    const first = service.slice(0, slash).replace(/:[0-9]+$/, '');
    service = `${first}${service.slice(slash)}`;
  }
  const version = parsed.digest !== undefined ? `@${parsed.digest}` : (parsed.tag ?? 'latest');
  const imageToPull = parsed.tag === undefined && parsed.digest === undefined ? `${reference}:latest` : reference;
  const doubleUnderscore = service.replaceAll('/', '__');
  const dash = service.replaceAll('/', '-');
  const aliases = doubleUnderscore === dash ? [doubleUnderscore] : [doubleUnderscore, dash];
  return { reference, service, version, imageToPull, aliases };
}

const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `alias` is not a valid RFC 1123 hostname, or `undefined` when it is one. */
export function hostnameProblem(alias: string): string | undefined {
  if (alias.length === 0) return 'it is empty';
  if (alias.length > 253) return 'it is longer than 253 characters';
  for (const label of alias.split('.')) {
    if (label.length === 0) return 'it has an empty label';
    if (label.length > 63) return `label "${label}" is longer than 63 characters`;
    if (!HOSTNAME_LABEL.test(label)) {
      return `label "${label}" must consist of letters, digits and '-', and start and end with a letter or digit`;
    }
  }
  return undefined;
}

/**
 * The user's `alias` value split as GitLab Runner does (`"db cache"`, `"db,cache"`), each checked as a
 * hostname. Throws {@link InvalidServiceAliasError} for the first invalid one.
 */
export function parseUserAliases(alias: string | undefined): string[] {
  if (alias === undefined) return [];
  const aliases = alias
    .replaceAll(',', ' ')
    .split(/\s+/)
    .filter((entry) => entry !== '');
  for (const entry of aliases) {
    const problem = hostnameProblem(entry);
    if (problem !== undefined) throw new InvalidServiceAliasError(entry, problem);
  }
  return aliases;
}

/** Every network alias of a service container: the two automatic ones, then the user's, without repeats. */
export function serviceAliases(reference: string, userAlias?: string): string[] {
  const all = [...parseServiceImage(reference).aliases, ...parseUserAliases(userAlias)];
  return [...new Set(all)];
}
