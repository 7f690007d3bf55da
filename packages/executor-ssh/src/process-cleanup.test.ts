// Cancel and timeout end the stage's whole remote process group (checked with ps over ssh), a finished stage
// leaves no background processes behind, and a failing script's exit code is the job's.
import { randomInt } from 'node:crypto';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { describe, expect, it } from 'vitest';
import { job, remote, testContext } from './test-support/ssh.js';

const context = testContext('processes');

/** Remote processes of the key user whose command line mentions `marker`. */
async function remaining(marker: number): Promise<string[]> {
  const out = await remote(context.ssh, `ps -u ${context.ssh.keyUser} -o args= || true`);
  return out.split('\n').filter((line) => line.includes(String(marker)));
}

/** A script that starts a background sleeper, a TERM-ignoring sleeper and a foreground sleeper. */
function stubbornScript(marker: number): string[] {
  return [`sleep ${marker}1 &`, `sh -c 'trap "" TERM; sleep ${marker}2; true' &`, 'echo started', `sleep ${marker}3`];
}

describe('remote processes', () => {
  it('the job timeout kills the whole process group, TERM-ignoring children included', async () => {
    const marker = randomInt(10_000, 99_999);
    const executor = context.executor();
    const { result, trace } = await runObserved(executor, job(stubbornScript(marker), { runner_info: { timeout: 2 } }));
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'job_execution_timeout' });
    expect(trace).toContain('\nstarted\n');
    expect(await remaining(marker)).toEqual([]);
    expect(executor.runningProcessGroups.size).toBe(0);
  });

  it('a graceful cancel kills the process group; after_script still runs', async () => {
    const marker = randomInt(10_000, 99_999);
    const controller = new AbortController();
    const pending = runObserved(
      context.executor(),
      job(stubbornScript(marker), {}, ['echo "after status=$CI_JOB_STATUS"']),
      { cancelSignal: controller.signal },
    );
    setTimeout(() => controller.abort(), 1500);
    const { result, trace } = await pending;
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'job_canceled' });
    expect(trace).toContain('\nafter status=canceled\n');
    expect(await remaining(marker)).toEqual([]);
  });

  it('a hard abort kills the process group', async () => {
    const marker = randomInt(10_000, 99_999);
    const controller = new AbortController();
    const pending = runObserved(context.executor(), job(stubbornScript(marker)), { abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 1500);
    const { result } = await pending;
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'job_canceled' });
    expect(await remaining(marker)).toEqual([]);
  });

  it('background processes do not outlive a finished stage (nor keep the job waiting)', async () => {
    const marker = randomInt(10_000, 99_999);
    const { result, durationMs } = await runObserved(context.executor(), job([`sleep ${marker} &`, 'echo done']));
    expect(result.outcome).toEqual({ status: 'success' });
    expect(durationMs).toBeLessThan(15_000);
    expect(await remaining(marker)).toEqual([]);
  });

  it("a failing script's exit code is the job's", async () => {
    const { result, trace } = await runObserved(context.executor(), job(['echo on-remote >&2', 'false || exit 7']));
    expect(result.outcome).toEqual({
      status: 'failed',
      failureReason: 'script_failure',
      exitCode: 7,
      message: 'exit code 7',
    });
    expect(trace).toContain('\non-remote\n');
    expect(trace).not.toContain('runnerkit-pgid');
  });
});
