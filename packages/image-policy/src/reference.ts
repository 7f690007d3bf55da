import { InvalidReferenceError } from './errors.js';

/** Docker Hub's canonical domain and the legacy index name that means the same registry. */
export const DOCKER_HUB_DOMAIN = 'docker.io';
const LEGACY_HUB_DOMAIN = 'index.docker.io';
const NAME_TOTAL_LENGTH_MAX = 255;

// Docker's reference grammar (distribution/reference), spelled out piece by piece.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6Address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6Address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const namePattern = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;

const REFERENCE = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;
const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;
const DIGEST_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** A parsed image reference, normalised as the Docker CLI and daemon do. */
export interface ImageReference {
  /** The reference exactly as written (allow-lists match this string). */
  readonly original: string;
  /** Registry host with port, e.g. `127.0.0.1:5000`; `docker.io` for Docker Hub. */
  readonly domain: string;
  /** Repository path on the registry; Docker Hub one-component names get `library/`. */
  readonly path: string;
  /** `domain/path`, e.g. `docker.io/library/ruby`. */
  readonly name: string;
  /** The shortest form Docker prints, e.g. `ruby`, `user/app`, `127.0.0.1:5000/app`. */
  readonly familiarName: string;
  /** The name as written, with tag and digest removed. */
  readonly writtenName: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

function fail(reference: string, reason: InvalidReferenceError['reason']): never {
  throw new InvalidReferenceError(reference, reason);
}

function splitDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (
    slash === -1 ||
    (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)
  ) {
    domain = DOCKER_HUB_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_HUB_DOMAIN) domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !remainder.includes('/')) remainder = `library/${remainder}`;
  return { domain, remainder };
}

function validateDigest(reference: string, digest: string): void {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const length = DIGEST_LENGTHS[algorithm];
  if (length === undefined) fail(reference, 'unsupported digest algorithm');
  if (encoded.length !== length) fail(reference, 'invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(encoded)) fail(reference, 'invalid checksum digest format');
}

/**
 * Parses an image reference as `docker pull` does (`[registry[:port]/]path[:tag][@digest]`).
 * Throws {@link InvalidReferenceError} with Docker's reason for anything Docker would refuse.
 */
export function parseImageReference(reference: string): ImageReference {
  if (reference === '') fail(reference, 'repository name must have at least one component');
  if (IDENTIFIER.test(reference)) fail(reference, 'cannot specify 64-byte hexadecimal strings');

  const match = REFERENCE.exec(reference);
  if (match === null) {
    if (REFERENCE.test(reference.toLowerCase())) fail(reference, 'repository name must be lowercase');
    fail(reference, 'invalid reference format');
  }

  const writtenName = match[1]!;
  const tag = match[2];
  const digest = match[3];
  const { domain, remainder } = splitDomain(writtenName);
  const name = `${domain}/${remainder}`;
  if (name.length > NAME_TOTAL_LENGTH_MAX) fail(reference, 'repository name must not be more than 255 characters');
  if (digest !== undefined) validateDigest(reference, digest);

  let familiarName = name;
  if (domain === DOCKER_HUB_DOMAIN) {
    familiarName =
      remainder.startsWith('library/') && remainder.indexOf('/', 8) === -1 ? remainder.slice(8) : remainder;
  }

  return { original: reference, domain, path: remainder, name, familiarName, writtenName, tag, digest };
}

/** Like {@link parseImageReference} but returns `undefined` instead of throwing. */
export function tryParseImageReference(reference: string): ImageReference | undefined {
  try {
    return parseImageReference(reference);
  } catch {
    return undefined;
  }
}

/** `sha256:<64 hex>`: an image ID, which GitLab never pulls. */
export function isImageId(value: string): boolean {
  return IMAGE_ID.test(value);
}

/** `docker.io/library/ruby:latest` (tag `latest` added when there is neither tag nor digest). */
export function canonicalReference(reference: ImageReference): string {
  if (reference.digest !== undefined) {
    return `${reference.name}${reference.tag === undefined ? '' : `:${reference.tag}`}@${reference.digest}`;
  }
  return `${reference.name}:${reference.tag ?? 'latest'}`;
}

/** `ruby:latest`, `127.0.0.1:5000/app@sha256:…`: the familiar form with the default tag made explicit. */
export function familiarReference(reference: ImageReference): string {
  if (reference.digest !== undefined) {
    return `${reference.familiarName}${reference.tag === undefined ? '' : `:${reference.tag}`}@${reference.digest}`;
  }
  return `${reference.familiarName}:${reference.tag ?? 'latest'}`;
}

/** Query parameters for the Engine's `POST /images/create`: a digest wins over a tag; no tag means `latest`. */
export interface PullParameters {
  readonly fromImage: string;
  readonly tag: string;
}

export function pullParameters(reference: ImageReference): PullParameters {
  return { fromImage: reference.writtenName, tag: reference.digest ?? reference.tag ?? 'latest' };
}

/** The registry host (with port) whose credentials a pull of this image needs, e.g. `127.0.0.1:5001`. */
export function registryHost(reference: ImageReference): string {
  return reference.domain.toLowerCase();
}

/**
 * The path credentials are looked up by (GitLab's rule): tag and digest removed, Docker Hub names
 * prefixed `docker.io/` without `library/`, host lower-cased. `ruby:3` → `docker.io/ruby`.
 */
export function credentialLookupPath(reference: ImageReference): string {
  const slash = reference.writtenName.indexOf('/');
  const written = reference.writtenName;
  if (reference.domain === DOCKER_HUB_DOMAIN) {
    const first = slash === -1 ? '' : written.slice(0, slash);
    const rest =
      first.toLowerCase() === LEGACY_HUB_DOMAIN || first.toLowerCase() === DOCKER_HUB_DOMAIN
        ? written.slice(slash + 1)
        : written;
    return `${DOCKER_HUB_DOMAIN}/${rest}`;
  }
  return `${written.slice(0, slash).toLowerCase()}${written.slice(slash)}`;
}
