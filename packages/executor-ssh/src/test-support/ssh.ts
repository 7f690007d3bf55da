// Shared test helpers: options for the real sshd (testkit's `ssh` component), a per-file remote directory that is
// removed afterwards, and a way to run a command on the remote host directly.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeJobPayload } from '@runnerkit/job-runtime';
import { conformancePayload } from '@runnerkit/job-runtime/testing';
import { requireComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll } from 'vitest';
import { SshConnection } from '../connection.js';
import { createSshExecutor, probeSshHomeDirectory } from '../executor.js';
import type { SshExecutorOptions } from '../options.js';

export type SshComponent = ReturnType<typeof requireComponent<'ssh'>>;

export function keyOptions(ssh: SshComponent): Pick<SshExecutorOptions, 'ssh' | 'identity' | 'knownHosts'> {
  return {
    ssh: { host: ssh.host, port: String(ssh.port), user: ssh.keyUser },
    identity: readFileSync(ssh.keyFile),
    knownHosts: readFileSync(ssh.knownHosts, 'utf8'),
  };
}

export function passwordOptions(ssh: SshComponent): Pick<SshExecutorOptions, 'ssh' | 'knownHosts'> {
  return {
    ssh: { host: ssh.host, port: String(ssh.port), user: ssh.passwordUser, password: ssh.password },
    knownHosts: readFileSync(ssh.knownHosts, 'utf8'),
  };
}

/** Runs `command` as the key user and returns its stdout. */
export async function remote(ssh: SshComponent, command: string): Promise<string> {
  const connection = await SshConnection.open(keyOptions(ssh));
  try {
    return await connection.capture(command);
  } finally {
    await connection.close();
  }
}

/**
 * Per test file: a remote directory `~/rk-executor-ssh-tests/<name>-<random>` holding builds and caches (removed
 * after the file), a local work dir, and an executor factory.
 */
export function testContext(name: string) {
  const ssh = requireComponent('ssh');
  const context = {
    ssh,
    home: '',
    root: `rk-executor-ssh-tests/${name}-${randomBytes(4).toString('hex')}`,
    workDir: mkdtempSync(join(tmpdir(), `executor-ssh-${name}-`)),
    runnerToken: `glrt-t1_${name.replace(/[^a-z0-9]/gi, '').slice(0, 6)}${randomBytes(6).toString('hex')}`,
    get absoluteRoot() {
      return `${context.home}/${context.root}`;
    },
    executor(options: Partial<SshExecutorOptions> = {}) {
      return createSshExecutor({
        ...keyOptions(ssh),
        homeDirectory: context.home,
        buildsDir: `${context.root}/builds`,
        cacheDir: `${context.root}/cache`,
        workDir: context.workDir,
        connectRetryDelayMs: 100,
        killGraceMs: 2000,
        ...options,
      });
    },
  };
  beforeAll(async () => {
    context.home = await probeSshHomeDirectory(keyOptions(ssh));
  });
  afterAll(async () => {
    rmSync(context.workDir, { recursive: true, force: true });
    await remote(ssh, `rm -rf ${context.root}; rmdir rk-executor-ssh-tests 2>/dev/null; true`);
  });
  return context;
}

export function job(script: string[], overrides: Partial<RuntimeJobPayload> = {}, after: string[] = []) {
  return conformancePayload(script, overrides, after);
}

export function variables(extra: Record<string, string>) {
  return [
    { key: 'CI_JOB_ID', value: '4242', public: true, masked: false },
    { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
    ...Object.entries(extra).map(([key, value]) => ({ key, value, public: true, masked: false })),
  ];
}
