import { afterEach, describe, expect, it } from 'vitest';
import { type JobResult, runJob } from '../job/run-job.js';
import { conformancePayload, MemoryTraceSink } from '../testing/conformance.js';
import { createScriptedExecutor, type ScriptedCall } from '../testing/scripted-executor.js';
import {
  createSupervisor,
  FAST_AGAIN_LIMIT,
  type JobRequestOutcome,
  type JobRunContext,
  type SupervisedRunner,
  type Supervisor,
  type SupervisorEvent,
} from './supervisor.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A small in-test job source: a queue of jobs, with every request recorded. */
class FakeSource {
  readonly requests: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly next: () => JobRequestOutcome | Promise<JobRequestOutcome>,
    private readonly latencyMs = 0,
  ) {}
  async request(signal: AbortSignal): Promise<JobRequestOutcome> {
    this.requests.push(Date.now());
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.latencyMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, this.latencyMs);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      }
      return await this.next();
    } finally {
      this.inFlight--;
    }
  }
}

/** Jobs that take `ms` and record how many run at once. */
function jobCounter() {
  const counter = {
    running: 0,
    max: 0,
    done: 0,
    contexts: [] as JobRunContext[],
    job(ms: number, projectId?: number): JobRequestOutcome {
      return {
        kind: 'job',
        job: {
          projectId,
          run: async (context) => {
            counter.contexts.push(context);
            counter.running++;
            counter.max = Math.max(counter.max, counter.running);
            await sleep(ms);
            counter.running--;
            counter.done++;
          },
        },
      };
    },
  };
  return counter;
}

let supervisors: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.map((supervisor) => supervisor.stop({ mode: 'forced', timeoutMs: 1000 })));
  supervisors = [];
});
function start(options: Parameters<typeof createSupervisor>[0]) {
  const supervisor = createSupervisor(options);
  supervisors.push(supervisor);
  return supervisor;
}
const runner = (id: string, source: FakeSource, extra: Partial<SupervisedRunner> = {}): SupervisedRunner => ({
  id,
  source,
  ...extra,
});

describe('the poll loop', () => {
  it('never runs more than `concurrent` jobs over all runners, and fills every slot', async () => {
    const counter = jobCounter();
    const a = new FakeSource(() => counter.job(150));
    const b = new FakeSource(() => counter.job(150));
    start({ runners: [runner('a', a), runner('b', b)], concurrent: 3, checkIntervalMs: 20 });
    await sleep(700);
    expect(counter.max).toBe(3);
    expect(a.requests.length).toBeGreaterThan(1);
    expect(b.requests.length).toBeGreaterThan(1);
  });

  it('keeps each runner within its `limit`', async () => {
    const counter = jobCounter();
    const limited = new FakeSource(() => counter.job(150));
    start({ runners: [runner('limited', limited, { limit: 2 })], concurrent: 10, checkIntervalMs: 10 });
    await sleep(600);
    expect(counter.max).toBe(2);
  });

  it('keeps at most `request_concurrency` requests of a runner in flight', async () => {
    const slow = new FakeSource(() => ({ kind: 'no-job', healthy: true }), 200);
    start({ runners: [runner('slow', slow, { requestConcurrency: 2 })], concurrent: 10, checkIntervalMs: 10 });
    await sleep(500);
    expect(slow.maxInFlight).toBe(2);
    const single = new FakeSource(() => ({ kind: 'no-job', healthy: true }), 200);
    start({ runners: [runner('single', single)], concurrent: 10, checkIntervalMs: 10 });
    await sleep(500);
    expect(single.maxInFlight).toBe(1);
  });

  it('spreads check_interval across runners: each asks once per interval, in turn', async () => {
    const a = new FakeSource(() => ({ kind: 'no-job', healthy: true }));
    const b = new FakeSource(() => ({ kind: 'no-job', healthy: true }));
    start({ runners: [runner('a', a), runner('b', b)], concurrent: 4, checkIntervalMs: 200 });
    await sleep(1050);
    // 1 s at 200 ms per runner: 5–6 requests each, a and b 100 ms apart
    expect(a.requests.length).toBeGreaterThanOrEqual(5);
    expect(a.requests.length).toBeLessThanOrEqual(6);
    expect(b.requests.length).toBeGreaterThanOrEqual(5);
    const gap = b.requests[0]! - a.requests[0]!;
    expect(gap).toBeGreaterThanOrEqual(80);
    expect(gap).toBeLessThan(160);
  });

  it('asks again at once after receiving a job, without waiting for check_interval', async () => {
    const counter = jobCounter();
    let left = 4;
    const source = new FakeSource(() => (left-- > 0 ? counter.job(50) : { kind: 'no-job', healthy: true }));
    start({ runners: [runner('a', source)], concurrent: 4, checkIntervalMs: 10_000 });
    await sleep(200);
    expect(counter.max).toBe(4);
  });

  it('asks again at once after a long-polling answer (`again`), not at the next check_interval turn', async () => {
    // each request is held 150 ms, then answered 204 by the polling layer: back-to-back requests
    const polled = new FakeSource(() => ({ kind: 'no-job', healthy: true, again: true }), 150);
    start({ runners: [runner('polled', polled)], concurrent: 4, checkIntervalMs: 10_000 });
    await sleep(700);
    expect(polled.requests.length).toBeGreaterThanOrEqual(4);
    expect(polled.maxInFlight).toBe(1);
    // without `again`: one request per check_interval
    const plain = new FakeSource(() => ({ kind: 'no-job', healthy: true }), 150);
    start({ runners: [runner('plain', plain)], concurrent: 4, checkIntervalMs: 10_000 });
    await sleep(700);
    expect(plain.requests.length).toBe(1);
  });

  it('falls back to check_interval pacing when `again` answers keep coming back without a hold', async () => {
    const instant = new FakeSource(() => ({ kind: 'no-job', healthy: true, again: true }));
    start({ runners: [runner('instant', instant)], concurrent: 4, checkIntervalMs: 10_000 });
    await sleep(300);
    // the feeder's request, then FAST_AGAIN_LIMIT immediate ones, then nothing until the next turn
    expect(instant.requests.length).toBe(1 + FAST_AGAIN_LIMIT);
  });

  it('asks again as soon as a job ends when no slot was free for the request owed after receiving it', async () => {
    const counter = jobCounter();
    let left = 3;
    const source = new FakeSource(() => (left-- > 0 ? counter.job(100) : { kind: 'no-job', healthy: true }));
    start({ runners: [runner('a', source)], concurrent: 1, checkIntervalMs: 10_000 });
    await sleep(500);
    // three 100 ms jobs one after the other, each end followed by a request at once (not 10 s later)
    expect(counter.done).toBe(3);
    expect(source.requests.length).toBe(4);
    // the owed request is one request: no extra request once a no-job answer came
    await sleep(200);
    expect(source.requests.length).toBe(4);
  });

  it('rests a runner for unhealthy_interval after unhealthy_requests_limit failures in a row', async () => {
    const events: SupervisorEvent[] = [];
    const failing = new FakeSource(() => ({ kind: 'no-job', healthy: false }));
    const supervisor = start({
      runners: [runner('failing', failing, { unhealthyRequestsLimit: 2, unhealthyIntervalMs: 400 })],
      concurrent: 1,
      checkIntervalMs: 50,
      onEvent: (event) => events.push(event),
    });
    await sleep(300);
    expect(failing.requests.length).toBe(2);
    expect(supervisor.stats().runners.failing?.healthy).toBe(false);
    expect(events.filter((event) => event.type === 'runner-unhealthy')).toHaveLength(1);
    await sleep(300);
    // the interval passed: polled again
    expect(failing.requests.length).toBeGreaterThanOrEqual(3);
    expect(events.some((event) => event.type === 'runner-healthy')).toBe(true);
  });

  it('counts a rejected request as unhealthy and keeps going', async () => {
    const events: SupervisorEvent[] = [];
    let calls = 0;
    const counter = jobCounter();
    const flaky = new FakeSource(() => {
      calls++;
      if (calls <= 2) throw new Error('connection refused');
      return calls === 3 ? counter.job(10) : { kind: 'no-job', healthy: true };
    });
    start({ runners: [runner('flaky', flaky)], concurrent: 1, checkIntervalMs: 30, onEvent: (e) => events.push(e) });
    await sleep(300);
    expect(events.filter((event) => event.type === 'request-failed')).toHaveLength(2);
    expect(counter.done).toBe(1);
  });

  it('survives a job that fails or throws: the next jobs still run', async () => {
    const events: SupervisorEvent[] = [];
    let n = 0;
    const counter = jobCounter();
    const source = new FakeSource(() => {
      n++;
      if (n === 1)
        return {
          kind: 'job',
          job: {
            run: async () => {
              throw new Error('job exploded');
            },
          },
        };
      return n <= 3 ? counter.job(10) : { kind: 'no-job', healthy: true };
    });
    start({ runners: [runner('a', source)], concurrent: 1, checkIntervalMs: 20, onEvent: (e) => events.push(e) });
    await sleep(300);
    expect(counter.done).toBe(2);
    const failed = events.find((event) => event.type === 'job-end' && event.error !== undefined);
    expect(failed).toMatchObject({ type: 'job-end', runner: 'a', error: new Error('job exploded') });
  });

  it('numbers CI_CONCURRENT_ID per runner and CI_CONCURRENT_PROJECT_ID per project, reusing freed ids', async () => {
    const counter = jobCounter();
    const projects = [1, 1, 2];
    let n = 0;
    const source = new FakeSource(() =>
      n < projects.length ? counter.job(100, projects[n++]) : { kind: 'no-job', healthy: true },
    );
    start({ runners: [runner('a', source)], concurrent: 3, checkIntervalMs: 10 });
    await sleep(80);
    expect(counter.contexts.map((c) => [c.concurrentId, c.concurrentProjectId])).toEqual([
      [0, 0],
      [1, 1],
      [2, 0],
    ]);
  });

  it('takes new runners and limits on update; a removed runner’s running job still finishes', async () => {
    const counter = jobCounter();
    let first = true;
    const old = new FakeSource(() => {
      if (!first) return { kind: 'no-job', healthy: true };
      first = false;
      return counter.job(200);
    });
    const fresh = new FakeSource(() => ({ kind: 'no-job', healthy: true }));
    const supervisor = start({ runners: [runner('old', old)], concurrent: 2, checkIntervalMs: 20 });
    await sleep(60);
    expect(counter.running).toBe(1);
    supervisor.update({ runners: [runner('fresh', fresh)] });
    const oldRequests = old.requests.length;
    await sleep(100);
    expect(old.requests.length).toBe(oldRequests);
    expect(fresh.requests.length).toBeGreaterThan(0);
    expect(supervisor.stats().running).toBe(1);
    await sleep(150);
    expect(counter.done).toBe(1);
  });
});

describe('stopping', () => {
  it('graceful: stops requesting at once and resolves when the running jobs have finished', async () => {
    const counter = jobCounter();
    let handed = false;
    const source = new FakeSource(() => {
      if (handed) return { kind: 'no-job', healthy: true };
      handed = true;
      return counter.job(300);
    });
    const supervisor = start({ runners: [runner('a', source)], concurrent: 2, checkIntervalMs: 20 });
    await sleep(50);
    const started = Date.now();
    const stopped = supervisor.stop({ mode: 'graceful' });
    const requestsAtStop = source.requests.length;
    await stopped;
    expect(counter.done).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await sleep(60);
    expect(source.requests.length).toBe(requestsAtStop);
  });

  it('forced: running jobs fail with runner_interrupted, executors are cleaned up, within the timeout', async () => {
    const calls: ScriptedCall[] = [];
    const results: JobResult[] = [];
    const sinks: MemoryTraceSink[] = [];
    let handed = false;
    const source = new FakeSource(() => {
      if (handed) return { kind: 'no-job', healthy: true };
      handed = true;
      return {
        kind: 'job',
        job: {
          run: async (context) => {
            const sink = new MemoryTraceSink();
            sinks.push(sink);
            results.push(
              await runJob({
                payload: conformancePayload(['sleep 30']),
                executor: createScriptedExecutor({ calls }),
                trace: sink,
                runner: { version: '0.0.0', revision: 'test', token: 'glrt-supervisor', featureFlags: {} },
                abortSignal: context.interruptSignal,
                concurrentId: context.concurrentId,
              }),
            );
          },
        },
      };
    });
    const supervisor = start({ runners: [runner('a', source)], concurrent: 1, checkIntervalMs: 20 });
    await sleep(150);
    // a graceful stop first (SIGQUIT), then forced (SIGTERM): the forced one takes over
    void supervisor.stop({ mode: 'graceful' });
    const started = Date.now();
    const result = await supervisor.stop({ mode: 'forced', signal: 'SIGTERM', timeoutMs: 5000 });
    expect(result.timedOut).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(results[0]?.outcome).toEqual({
      status: 'failed',
      failureReason: 'runner_interrupted',
      message: 'aborted: SIGTERM',
    });
    expect(sinks[0]?.text).toContain('ERROR: Job failed: aborted: SIGTERM');
    expect(calls.at(-1)).toEqual({ method: 'cleanup' });
    await expect(supervisor.done).resolves.toEqual({ timedOut: false });
  });

  it('forced: gives up waiting after the shutdown timeout', async () => {
    const source = new FakeSource(() => ({
      kind: 'job',
      job: { run: () => sleep(2000) }, // ignores the interrupt
    }));
    const supervisor = start({ runners: [runner('a', source)], concurrent: 1, checkIntervalMs: 10 });
    await sleep(50);
    const started = Date.now();
    await expect(supervisor.stop({ mode: 'forced', timeoutMs: 200 })).resolves.toEqual({ timedOut: true });
    expect(Date.now() - started).toBeLessThan(600);
  });
});
