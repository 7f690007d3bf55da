// Strict host key checking against known_hosts (GitLab's current default), and turning it off.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { describe, expect, it } from 'vitest';
import { SshConnection } from './connection.js';
import type { SshExecutorError } from './errors.js';
import { checkHostKey } from './known-hosts.js';
import { job, keyOptions, testContext } from './test-support/ssh.js';

const context = testContext('hostkeys');
const realLine = readFileSync(context.ssh.knownHosts, 'utf8').trim().split('\n')[0]!;
const [, keyType, realKey] = realLine.split(/\s+/);
// another ed25519 public key blob, in the same wire format as the real one (type string + 32 key bytes)
const otherKey = Buffer.concat([Buffer.from(realKey!, 'base64').subarray(0, 19), randomBytes(32)]).toString('base64');

async function connectError(knownHosts: string | undefined, strictOff = false) {
  const options = keyOptions(context.ssh);
  return SshConnection.open({
    ...options,
    knownHosts,
    ssh: { ...options.ssh, disable_strict_host_key_checking: strictOff },
  }).then(
    async (connection) => {
      await connection.close();
      return undefined;
    },
    (error: SshExecutorError) => ({ code: error.executorCode, reason: error.failureReason, message: error.message }),
  );
}

describe('host key checking', () => {
  it('strict: an unknown host fails the job and says how to trust it', async () => {
    const { result, trace } = await runObserved(
      context.executor({ knownHosts: `[127.0.0.1]:2223 ${keyType} ${realKey}\n` }),
      job(['echo never']),
    );
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(result.outcome.status === 'failed' && result.outcome.message).toMatch(
      /^host key verification failed for rk-ssh-key@127\.0\.0\.1:2222: \[127\.0\.0\.1\]:2222 \(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\) is not in known_hosts; add its key \(ssh-keyscan -p 2222 127\.0\.0\.1\) or set disable_strict_host_key_checking = true$/,
    );
    expect(trace).not.toContain('Will be retried');
    expect((await connectError(''))?.code).toBe('SSH_EXECUTOR_HOST_KEY_UNKNOWN');
  });

  it('strict: a changed host key is refused as a mismatch', async () => {
    expect(await connectError(`[127.0.0.1]:2222 ${keyType} ${otherKey}\n`)).toMatchObject({
      code: 'SSH_EXECUTOR_HOST_KEY_MISMATCH',
      reason: 'runner_system_failure',
    });
  });

  it('strict: a revoked key is refused even when listed for the host', async () => {
    expect(await connectError(`${realLine}\n@revoked * ${keyType} ${realKey}\n`)).toMatchObject({
      code: 'SSH_EXECUTOR_HOST_KEY_REVOKED',
    });
  });

  it('strict: the known key connects, also as a hashed host name', async () => {
    expect(await connectError(`${realLine}\n`)).toBeUndefined();
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[127.0.0.1]:2222').digest('base64');
    expect(await connectError(`|1|${salt.toString('base64')}|${hash} ${keyType} ${realKey}\n`)).toBeUndefined();
  });

  it('strict without any known_hosts is a configuration error', async () => {
    expect(await connectError(undefined)).toMatchObject({
      code: 'SSH_EXECUTOR_KNOWN_HOSTS_MISSING',
      reason: 'runner_configuration_error',
    });
  });

  it('disable_strict_host_key_checking = true: an unknown host key is accepted and the job runs', async () => {
    const { result, trace } = await runObserved(
      context.executor({
        knownHosts: '',
        ssh: { ...keyOptions(context.ssh).ssh, disable_strict_host_key_checking: true },
      }),
      job(['echo connected-anyway']),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain('\nconnected-anyway\n');
  });

  it('matches known_hosts patterns as OpenSSH does', () => {
    const key = Buffer.from(realKey!, 'base64');
    const line = (hosts: string) => `${hosts} ${keyType} ${realKey}\n`;
    expect(checkHostKey(line('example.com,*.example.org'), 'ci.example.org', 22, key)).toBe('match');
    expect(checkHostKey(line('*.example.org,!bad.example.org'), 'bad.example.org', 22, key)).toBe('unknown');
    expect(checkHostKey(line('example.com'), 'example.com', 2222, key)).toBe('unknown');
    expect(checkHostKey(line('[example.com]:2222'), 'example.com', 2222, key)).toBe('match');
    expect(checkHostKey(`# comment\n\n@cert-authority * ${keyType} ${realKey}\n`, 'example.com', 22, key)).toBe(
      'unknown',
    );
  });
});
