// The remote command every stage runs, and the two shells job-runtime writes scripts for.
import { runObserved } from '@runnerkit/job-runtime/testing';
import { describe, expect, it } from 'vitest';
import { stageCommand } from './executor.js';
import { job, testContext } from './test-support/ssh.js';

const context = testContext('shells');

describe('stage shells', () => {
  it('starts the job shell as a login shell in a new session and reports its process group first', () => {
    expect(stageCommand('bash')).toMatchInlineSnapshot(
      `"if command -v setsid >/dev/null 2>&1; then exec setsid -w sh -c 'echo "runnerkit-pgid:$$" >&2; SHLVL=1; export SHLVL; exec bash -l'; else echo "runnerkit-pgid:$$" >&2; SHLVL=1; export SHLVL; exec bash -l; fi"`,
    );
  });

  it('runs the job in a process group of its own, led by the job shell', async () => {
    const { result, trace } = await runObserved(
      context.executor(),
      job(['ps -o pid=,pgid=,sid= -p $$ | awk \'{ print ($1 == $2 && $2 == $3) ? "leader" : "not-leader" }\'']),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain('\nleader\n');
  });

  it('runs sh -l when the runner shell is sh (dash here: POSIX quoting, as GitLab needs for it)', async () => {
    const { result, trace } = await runObserved(
      context.executor({ shell: 'sh' }),
      job(['echo "bash=${BASH_VERSION:-none}"', 'exit 5']),
      {},
      { featureFlags: { FF_POSIXLY_CORRECT_ESCAPES: true } },
    );
    expect(result.outcome).toMatchObject({ failureReason: 'script_failure', exitCode: 5 });
    expect(trace).toContain('\nbash=none\n');
  });

  it('refuses shells job-runtime cannot write scripts for', () => {
    expect(() => context.executor({ shell: 'pwsh' })).toThrow(/shell "pwsh" is not supported/);
  });
});
