import { createSupervisor, type JobSource } from '@runnerkit/job-runtime';
import { describe, expect, it } from 'vitest';
import { strictCheckInterval } from './strict-check-interval.js';

/** A job source scripted by the test (the supervisor's port): one job, then none; records when it was asked. */
function scripted() {
  const asked: number[] = [];
  const source: JobSource = {
    async request() {
      asked.push(Date.now());
      return asked.length === 1 ? { kind: 'job', job: { run: async () => {} } } : { kind: 'no-job', healthy: true };
    },
  };
  return { asked, source };
}

async function requestTimes(strict: boolean): Promise<number[]> {
  const { asked, source } = scripted();
  const interval = 600;
  const supervisor = createSupervisor({
    runners: [{ id: 'r', source: strict ? strictCheckInterval(source, () => interval) : source }],
    concurrent: 2,
    checkIntervalMs: interval,
  });
  await new Promise((resolve) => setTimeout(resolve, interval * 1.5));
  await supervisor.stop({ mode: 'graceful' });
  return asked.map((time) => time - asked[0]!);
}

describe('strict_check_interval', () => {
  it('off (GitLab’s default): the runner is asked again at once after a job was received', async () => {
    const times = await requestTimes(false);
    expect(times[1]).toBeLessThan(100);
  });

  it('on: the next request waits for the runner’s next check_interval turn', async () => {
    const times = await requestTimes(true);
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times[1]).toBeGreaterThanOrEqual(590);
  });
});
