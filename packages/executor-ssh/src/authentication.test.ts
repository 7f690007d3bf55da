// Logging in to the real sshd: key and password auth, a wrong key, a wrong password, an encrypted key, and
// identity_file read from a path. Failures are final (no prepare retries) and say what to fix.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SshConnection } from './connection.js';
import { SshExecutorError } from './errors.js';
import { job, keyOptions, passwordOptions, testContext } from './test-support/ssh.js';

const context = testContext('auth');
const keys = mkdtempSync(join(tmpdir(), 'executor-ssh-keys-'));
afterAll(() => rmSync(keys, { recursive: true, force: true }));

function newKey(name: string, passphrase = ''): string {
  const file = join(keys, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', file]);
  return file;
}

describe('authentication against sshd', () => {
  it('logs in with the identity key and runs the job as that user', async () => {
    const { result, trace } = await runObserved(context.executor(), job(['id -un', 'echo "home=$HOME"']));
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain('Using SSH executor...');
    expect(trace).toContain(`\n${context.ssh.keyUser}\n`);
  });

  it('logs in with a password (no key configured); relative builds_dir is under the login directory', async () => {
    const options = passwordOptions(context.ssh);
    try {
      const { result, trace } = await runObserved(
        context.executor({ ...options, identity: undefined, homeDirectory: undefined }),
        job(['id -un', 'pwd', 'echo "dir=$CI_PROJECT_DIR"']),
      );
      expect(result.outcome).toEqual({ status: 'success' });
      expect(trace).toContain(`\n${context.ssh.passwordUser}\n`);
      // GitLab's layout <builds_dir>/<short token>/<concurrent project id>/<namespace>/<project>, relative to ~
      expect(trace).toContain(`\n/home/${context.ssh.passwordUser}/${context.root}/builds/conforman/0/group/project\n`);
      expect(trace).toContain(`\ndir=${context.root}/builds/conforman/0/group/project\n`);
    } finally {
      const connection = await SshConnection.open(options);
      await connection.capture(`rm -rf ${context.root}; rmdir rk-executor-ssh-tests 2>/dev/null; true`);
      await connection.close();
    }
  });

  it('reads identity_file from its path when no key contents are given', async () => {
    const { result, trace } = await runObserved(
      context.executor({
        identity: undefined,
        ssh: { ...keyOptions(context.ssh).ssh, identity_file: context.ssh.keyFile },
      }),
      job(['id -un']),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain(`\n${context.ssh.keyUser}\n`);
  });

  it('a key the server does not accept fails the job as a system failure, without retries', async () => {
    const { result, trace } = await runObserved(
      context.executor({ identity: readFileSync(newKey('wrong')) }),
      job(['echo never']),
    );
    expect(result.outcome).toEqual({
      status: 'failed',
      failureReason: 'runner_system_failure',
      message: `authentication as ${context.ssh.keyUser} on 127.0.0.1:2222 failed: the server refused the configured password and identity_file`,
    });
    expect(trace).not.toContain('Will be retried');
    expect(trace).not.toContain('never');
  });

  it('a wrong password fails with SSH_EXECUTOR_AUTHENTICATION', async () => {
    const error = await SshConnection.open({
      ...passwordOptions(context.ssh),
      ssh: { ...passwordOptions(context.ssh).ssh, password: 'not-the-password' },
    }).catch((caught: unknown) => caught);
    expect(SshExecutorError.isInstance(error)).toBe(true);
    expect((error as SshExecutorError).executorCode).toBe('SSH_EXECUTOR_AUTHENTICATION');
    expect((error as SshExecutorError).failureReason).toBe('runner_system_failure');
  });

  it('an encrypted key is refused before connecting, with a clear configuration error', async () => {
    const encrypted = newKey('encrypted', 'correct horse battery staple');
    const { result } = await runObserved(
      context.executor({ identity: undefined, ssh: { ...keyOptions(context.ssh).ssh, identity_file: encrypted } }),
      job(['echo never']),
    );
    expect(result.outcome).toEqual({
      status: 'failed',
      failureReason: 'runner_configuration_error',
      message: `identity_file ${encrypted} is an encrypted private key: the SSH executor needs an unencrypted key (as GitLab Runner); remove the passphrase with ssh-keygen -p -N '' -f <file>`,
    });
    const error = await SshConnection.open({ ...keyOptions(context.ssh), identity: readFileSync(encrypted) }).catch(
      (caught: unknown) => caught,
    );
    expect((error as SshExecutorError).executorCode).toBe('SSH_EXECUTOR_KEY_ENCRYPTED');
  });

  it('refuses a configuration with neither password nor key', async () => {
    const error = await SshConnection.open({ ...keyOptions(context.ssh), identity: undefined }).catch(
      (caught: unknown) => caught,
    );
    expect((error as SshExecutorError).executorCode).toBe('SSH_EXECUTOR_CONFIGURATION');
    expect((error as SshExecutorError).failureReason).toBe('runner_configuration_error');
  });
});
