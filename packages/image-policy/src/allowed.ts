import { DisallowedImageError } from './errors.js';
import { compileGlob } from './glob.js';
import { type TraceLine, traceLine } from './trace.js';

const ADVANCED_CONFIGURATION_URL = 'https://docs.gitlab.com/runner/configuration/advanced-configuration/';

/**
 * Whether `image` (as written, after variable expansion) matches one of `patterns`.
 * An absent or empty list allows everything; an explicit pattern is a doublestar glob over the whole string.
 */
export function matchesAllowList(image: string, patterns: readonly string[] | undefined): boolean {
  if (patterns === undefined || patterns.length === 0) return true;
  return patterns.some((pattern) => compileGlob(pattern)?.test(image) ?? false);
}

export interface VerifyAllowedImageOptions {
  /** The image or service name as written in the job (after variable expansion). */
  readonly image: string;
  /** `allowed_images` or `allowed_services` from config.toml; absent or empty allows everything. */
  readonly allowed: readonly string[] | undefined;
  /** Always allowed: the runner's `[runners.docker] image`, or the names of `[[runners.docker.services]]`. */
  readonly internal?: readonly string[];
  /** Which list is checked: `images` for the job image, `services` for services. */
  readonly kind: 'images' | 'services';
}

export type AllowedImageDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly lines: readonly TraceLine[]; readonly error: DisallowedImageError };

/**
 * GitLab Runner's allowed_images / allowed_services check. When the image is refused the decision carries
 * the job-log lines GitLab prints and the `disallowed image` error that fails prepare.
 */
export function verifyAllowedImage(options: VerifyAllowedImageOptions): AllowedImageDecision {
  const allowed = options.allowed ?? [];
  if (allowed.length === 0) return { allowed: true };
  if (matchesAllowList(options.image, allowed)) return { allowed: true };
  if ((options.internal ?? []).includes(options.image)) return { allowed: true };

  const lines: TraceLine[] = [
    traceLine('plain', ''),
    traceLine('error', `The "${options.image}" image is not present on list of allowed ${options.kind}:`),
    ...allowed.map((pattern) => traceLine('plain', `- ${pattern}`)),
    traceLine('plain', ''),
    traceLine('plain', `Please check runner's allowed_images configuration: ${ADVANCED_CONFIGURATION_URL}`),
  ];
  return { allowed: false, lines, error: new DisallowedImageError(options.image, allowed, options.kind) };
}

/**
 * Whether the build container may run privileged: `privileged` in config.toml and the job image matches
 * `allowed_privileged_images` (empty = all).
 */
export function isPrivilegedImageAllowed(options: {
  readonly privileged: boolean;
  readonly image: string;
  readonly allowedPrivilegedImages: readonly string[] | undefined;
}): boolean {
  return options.privileged && matchesAllowList(options.image, options.allowedPrivilegedImages);
}

/**
 * Whether a service container may run privileged: `services_privileged` (falling back to `privileged`) and the
 * service name matches `allowed_privileged_services` (empty = all).
 */
export function isPrivilegedServiceAllowed(options: {
  readonly privileged: boolean;
  readonly servicesPrivileged?: boolean | undefined;
  readonly service: string;
  readonly allowedPrivilegedServices: readonly string[] | undefined;
}): boolean {
  const privileged = options.servicesPrivileged ?? options.privileged;
  return privileged && matchesAllowList(options.service, options.allowedPrivilegedServices);
}
