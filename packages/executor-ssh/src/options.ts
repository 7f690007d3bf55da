import type { SshConfig } from '@runnerkit/config-schema';

/** Everything the SSH executor needs; the CLI reads config.toml (and any files it names) and passes them in. */
export interface SshExecutorOptions {
  /** `[runners.ssh]`, as @runnerkit/config-schema parsed it (host, port, user, password, identity_file, …). */
  ssh: SshConfig;
  /**
   * The private key's contents (an unencrypted OpenSSH, PEM RSA/ECDSA/Ed25519 or PuTTY key). When absent and
   * `ssh.identity_file` is set, that file is read at prepare time.
   */
  identity?: string | Buffer | undefined;
  /**
   * known_hosts contents used when strict host key checking is on. When absent, `ssh.known_hosts_file` is read;
   * GitLab Runner's default (`~/.ssh/known_hosts` of the runner's user) is the caller's to read and pass here.
   */
  knownHosts?: string | undefined;
  /**
   * The remote user's login directory (absolute). Relative `builds_dir`/`cache_dir` (default `builds`, `cache`)
   * are resolved against it; without it they stay relative to the login directory, as in GitLab Runner (and
   * file variables then hold relative paths). {@link probeSshHomeDirectory} finds it.
   */
  homeDirectory?: string | undefined;
  /** `[[runners]] builds_dir` on the remote host (default `builds`, i.e. `~/builds`). */
  buildsDir?: string | undefined;
  /** `[[runners]] cache_dir` on the remote host (default `cache`, i.e. `~/cache`). */
  cacheDir?: string | undefined;
  /** `[runners.custom_build_dir] enabled` (default false for SSH). */
  customBuildDir?: boolean | undefined;
  /** `[[runners]] shell`: `bash` (default) or `sh`; the remote command is `<shell> -l` with the script on stdin. */
  shell?: string | undefined;
  /** A directory on the runner host for temporary files of cache and artifact transfers. */
  workDir: string;
  /** Time allowed for TCP connect, key exchange and authentication, per attempt (default 30 s). */
  connectTimeoutMs?: number | undefined;
  /** Connection attempts before prepare fails (default 3, as GitLab Runner); auth and host key errors are final. */
  connectAttempts?: number | undefined;
  /** Pause between connection attempts (default 3 s). */
  connectRetryDelayMs?: number | undefined;
  /** SSH keepalive interval (default 10 s; 0 disables). */
  keepaliveIntervalMs?: number | undefined;
  /** Unanswered keepalives before the connection counts as dropped (default 3). */
  keepaliveCountMax?: number | undefined;
  /** Time between SIGTERM and SIGKILL of the remote process group when a stage is stopped (default 5 s). */
  killGraceMs?: number | undefined;
}
