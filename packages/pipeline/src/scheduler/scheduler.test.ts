import { describe, expect, it } from 'vitest';
import { compilePipeline } from '../compile.js';
import { SchedulerStateError } from '../errors.js';
import { createScheduler } from './scheduler.js';

async function compile(yaml: string) {
  const result = await compilePipeline({ yaml });
  if (!result.ok) throw result.error;
  return result.pipeline;
}

describe('scheduler', () => {
  it('retries a failed job up to retry:max when the reason matches', async () => {
    const scheduler = createScheduler(
      await compile('build:\n  script: make\n  retry: { max: 2, when: script_failure }\n'),
    );
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(scheduler.ready().map((j) => j.name)).toEqual(['build']);
      scheduler.start('build');
      scheduler.finish('build', 'failed', { failureReason: 'script_failure' });
    }
    expect(scheduler.jobs()[0]).toMatchObject({ status: 'failed', attempts: 3 });
    expect(scheduler.status()).toBe('failed');
  });

  it('does not retry for other reasons or exit codes', async () => {
    const scheduler = createScheduler(
      await compile(
        'a:\n  script: x\n  retry: { max: 2, when: runner_system_failure }\nb:\n  script: x\n  retry: { max: 2, exit_codes: [137] }\n',
      ),
    );
    scheduler.start('a');
    scheduler.start('b');
    scheduler.finish('a', 'failed');
    scheduler.finish('b', 'failed', { exitCode: 1 });
    expect(scheduler.ready()).toEqual([]);
    expect(scheduler.jobs().map((s) => s.status)).toEqual(['failed', 'failed']);
  });

  it('counts allow_failure:exit_codes only for the listed codes', async () => {
    const yaml = 'test:\n  script: x\n  allow_failure: { exit_codes: [42] }\ndeploy:\n  stage: deploy\n  script: y\n';
    const allowed = createScheduler(await compile(yaml));
    allowed.start('test');
    allowed.finish('test', 'failed', { exitCode: 42 });
    expect(allowed.ready().map((j) => j.name)).toEqual(['deploy']);
    allowed.start('deploy');
    allowed.finish('deploy', 'success');
    expect(allowed.status()).toBe('success');

    const refused = createScheduler(await compile(yaml));
    refused.start('test');
    refused.finish('test', 'failed', { exitCode: 1 });
    expect(refused.ready()).toEqual([]);
    expect(refused.skipped().map((j) => j.name)).toEqual(['deploy']);
    expect(refused.status()).toBe('failed');
  });

  it('makes a delayed job pending once its start_in has passed, by the given clock', async () => {
    let now = 1_000_000;
    const scheduler = createScheduler(await compile('later:\n  script: x\n  when: delayed\n  start_in: 2 minutes\n'), {
      now: () => now,
    });
    expect(scheduler.ready()).toEqual([]);
    expect(scheduler.status()).toBe('scheduled');
    expect(scheduler.nextWakeUp()).toBe(1_000_000 + 120_000);
    now += 120_000;
    expect(scheduler.ready().map((j) => j.name)).toEqual(['later']);
  });

  it('refuses calls that do not fit the job state', async () => {
    const scheduler = createScheduler(await compile('a:\n  script: x\nb:\n  stage: deploy\n  script: y\n'));
    expect(() => scheduler.start('b')).toThrowError(SchedulerStateError);
    expect(() => scheduler.finish('a', 'success')).toThrowError('job "a" cannot finish: it is pending, not running');
    expect(() => scheduler.play('a')).toThrowError('job "a" cannot be played: it is pending, not manual or scheduled');
    expect(() => scheduler.start('nope')).toThrowError('no job named "nope" in this pipeline');
  });

  it('cancels every unfinished job', async () => {
    const scheduler = createScheduler(await compile('a:\n  script: x\nb:\n  stage: deploy\n  script: y\n'));
    scheduler.start('a');
    scheduler.cancel();
    expect(scheduler.jobs().map((s) => s.status)).toEqual(['canceled', 'canceled']);
    expect(scheduler.status()).toBe('canceled');
  });

  it('lets a needs job wait for a manual job it needs, while stage order ignores a non-blocking manual job', async () => {
    const scheduler = createScheduler(
      await compile(
        'approve:\n  stage: build\n  script: x\n  when: manual\nafter:\n  stage: test\n  needs: [approve]\n  script: y\nstaged:\n  stage: test\n  script: z\n',
      ),
    );
    expect(scheduler.ready().map((j) => j.name)).toEqual(['staged']);
    scheduler.play('approve');
    expect(scheduler.ready().map((j) => j.name)).toEqual(['approve', 'staged']);
    scheduler.start('approve');
    scheduler.finish('approve', 'success');
    expect(scheduler.ready().map((j) => j.name)).toEqual(['after', 'staged']);
  });
});
