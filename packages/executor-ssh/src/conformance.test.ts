import { describeExecutorConformance } from '@runnerkit/job-runtime/testing';
import { afterAll, expect } from 'vitest';
import { remote, testContext } from './test-support/ssh.js';

const context = testContext('conformance');

describeExecutorConformance({
  name: 'ssh (rk-ssh-key@127.0.0.1:2222)',
  createExecutor: () => context.executor(),
  runner: { token: context.runnerToken },
});

afterAll(async () => {
  // every stage's process group is gone: nothing of this file's jobs still runs on the remote host
  expect(await remote(context.ssh, `ps -u ${context.ssh.keyUser} -o args= | grep -c '[s]leep 60' || true`)).toBe('0\n');
});
