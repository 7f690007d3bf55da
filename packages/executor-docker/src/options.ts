import type { DockerConfig } from '@runnerkit/config-schema';
import type { DockerClient, DockerTlsOptions } from '@runnerkit/docker-engine-client';
import type { ConfigFileContents, CredentialHelperRunner } from '@runnerkit/image-policy';

/** Everything the Docker executor needs; the CLI reads config.toml, files and the environment and passes them in. */
export interface DockerExecutorOptions {
  /** `[runners.docker]`, as @runnerkit/config-schema parsed it. */
  docker?: DockerConfig | undefined;
  /** A client to use (shared across jobs); otherwise one is created from `docker.host` and `tls`. */
  client?: DockerClient | undefined;
  /** TLS material (contents of ca.pem/cert.pem/key.pem) for `docker.host` when `tls_verify` is set. */
  tls?: DockerTlsOptions | undefined;
  /** `[[runners]] builds_dir` (default `/builds`). */
  buildsDir?: string | undefined;
  /** `[[runners]] cache_dir` (default `/cache`). */
  cacheDir?: string | undefined;
  /** `[runners.custom_build_dir] enabled` (default true for Docker). */
  customBuildDir?: boolean | undefined;
  /** `[[runners]] shell`: `bash` (default) or `sh`. */
  shell?: string | undefined;
  /** The full runner token (for GitLab's volume names; only its short form appears in labels). */
  runnerToken: string;
  /** `system_id` of this runner (part of persistent volume names and labels). */
  systemId?: string | undefined;
  /** `[[runners]] environment` (a `DOCKER_AUTH_CONFIG` there is a credential source). */
  runnerEnvironment?: readonly string[] | undefined;
  /** The runner user's ~/.docker/config.json contents, read by the caller. */
  dockerConfigFile?: ConfigFileContents | undefined;
  /** Runs `docker-credential-*` helpers; leave out to never run any. */
  runCredentialHelper?: CredentialHelperRunner | undefined;
  /**
   * A directory on the runner host for git mirrors, work trees and temporary files (cache and artifact
   * transfers). Required: the executor clones on the host, not in a helper image.
   */
  workDir: string;
  /** `[[runners]] clone_url`: replaces the scheme and host of the repository URL for cloning. */
  cloneUrl?: string | undefined;
  /** The git binary on the host (default `git`). */
  gitBinary?: string | undefined;
  /**
   * Marks every container, network and temporary volume of a job with this value (label `dev.runnerkit.owner`), so
   * that {@link removeAbandonedResources} run by a later process can find what this one left if it is killed.
   */
  owner?: string | undefined;
  /** Random 16-hex suffix of container names (tests make it deterministic). */
  randomHex?: (() => string) | undefined;
}
