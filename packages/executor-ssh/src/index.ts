// @runnerkit/executor-ssh: GitLab Runner's SSH executor on ssh2 — stage scripts run on a remote host.
export { type SshExecutor, createSshExecutor, probeSshHomeDirectory, stageCommand } from './executor.js';
export { SshConfigurationError, SshExecutorError, type SshExecutorErrorCode } from './errors.js';
export { checkHostKey, describeHostKey, type HostKeyVerdict, knownHostName } from './known-hosts.js';
export type { SshExecutorOptions } from './options.js';
