// The executor conformance suite: every executor runs it against its real backend (dockerd, sshd, a local
// shell). It drives real jobs through `runJob` and checks what users see: outcome, exit codes, trace.
import { describe, expect, it } from 'vitest';
import type { Executor, TraceSink } from '../executor/contract.js';
import type { RuntimeJobPayload } from '../job/payload.js';
import { type JobResult, type RunJobOptions, type RunnerSettings, type RuntimeEvent, runJob } from '../job/run-job.js';

/** A trace sink that keeps every byte (for tests). */
export class MemoryTraceSink implements TraceSink {
  readonly chunks: Uint8Array[] = [];
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get text(): string {
    return this.bytes.toString('utf8');
  }
}

export interface ConformanceOptions {
  /** Shown in the suite title. */
  name: string;
  /** A fresh executor for one job (called once per job; may be async to allocate resources). */
  createExecutor: () => Executor | Promise<Executor>;
  /** Merged into every test job (e.g. `{ image: { name: 'busybox' } }` for Docker). */
  payload?: Partial<RuntimeJobPayload> | undefined;
  /** Merged into the runner settings of every job. */
  runner?: Partial<RunnerSettings> | undefined;
  /** Per-test timeout in ms (default 60 s). */
  testTimeoutMs?: number | undefined;
  /** Case names to skip, with the reason in the caller's test file. */
  skip?: readonly ConformanceCase[] | undefined;
}

export type ConformanceCase =
  | 'exit-codes'
  | 'success'
  | 'sections'
  | 'variables'
  | 'file-variables'
  | 'masking'
  | 'after-script-after-failure'
  | 'job-timeout'
  | 'script-timeout'
  | 'abort'
  | 'graceful-cancel'
  | 'cleanup-idempotent';

/** A minimal, valid job payload for the conformance cases. */
export function conformancePayload(
  script: readonly string[],
  overrides: Partial<RuntimeJobPayload> = {},
  afterScript: readonly string[] = [],
): RuntimeJobPayload {
  return {
    id: 4242,
    token: 'conformance-job-token',
    allow_git_fetch: false,
    job_info: { name: 'conformance', stage: 'test', project_id: 7, project_name: 'project' },
    git_info: {
      repo_url: 'https://gitlab-ci-token:conformance-job-token@gitlab.example.com/group/project.git',
      ref: 'main',
      sha: '0123456789abcdef0123456789abcdef01234567',
      ref_type: 'branch',
      refspecs: [],
      depth: 0,
    },
    runner_info: { timeout: 600 },
    variables: [
      { key: 'CI_JOB_ID', value: '4242', public: true, masked: false },
      { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
    ],
    steps: [
      { name: 'script', script: [...script], timeout: 600, when: 'on_success', allow_failure: false },
      ...(afterScript.length > 0
        ? [{ name: 'after_script', script: [...afterScript], timeout: 600, when: 'always', allow_failure: true }]
        : []),
    ],
    hooks: [],
    image: null,
    services: [],
    artifacts: null,
    cache: [],
    dependencies: [],
    features: { trace_sections: true },
    ...overrides,
  };
}

const RUNNER: RunnerSettings = {
  version: '0.0.0-conformance',
  revision: 'conformance',
  name: 'conformance',
  token: 'glrt-t1_conformanceToken',
};

export interface ObservedRun {
  result: JobResult;
  /** The trace as text (timestamps off). */
  trace: string;
  /** Calls to `cleanup()` the runtime made. */
  cleanups: number;
  durationMs: number;
}

/** Runs one job through `executor` with timestamps off, observing cleanup calls. */
export async function runObserved(
  executor: Executor,
  payload: RuntimeJobPayload,
  extra: Partial<RunJobOptions> = {},
  runner: Partial<RunnerSettings> = {},
): Promise<ObservedRun> {
  const sink = new MemoryTraceSink();
  let cleanups = 0;
  const observed: Executor = {
    name: executor.name,
    shell: executor.shell,
    directories: executor.directories,
    environment: executor.environment,
    stages: executor.stages,
    prepare: (request) => executor.prepare(request),
    run: (request) => executor.run(request),
    cleanup: () => {
      cleanups++;
      return executor.cleanup();
    },
  };
  const started = Date.now();
  const result = await runJob({
    payload,
    executor: observed,
    trace: sink,
    runner: { ...RUNNER, ...runner, featureFlags: { FF_TIMESTAMPS: false, ...runner.featureFlags } },
    prepareRetryDelayMs: 10,
    abortGraceMs: 20_000,
    ...extra,
  });
  return { result, trace: sink.text, cleanups, durationMs: Date.now() - started };
}

/**
 * Registers the conformance suite (vitest `describe`/`it`) for one executor. Call it from the executor's own
 * test file, with its real backend available.
 */
export function describeExecutorConformance(options: ConformanceOptions): void {
  const timeout = options.testTimeoutMs ?? 60_000;
  const skip = new Set(options.skip ?? []);
  const job = (script: readonly string[], overrides: Partial<RuntimeJobPayload> = {}, after: readonly string[] = []) =>
    conformancePayload(script, { ...options.payload, ...overrides }, after);
  const run = async (payload: RuntimeJobPayload, extra: Partial<RunJobOptions> = {}) =>
    runObserved(await options.createExecutor(), payload, extra, options.runner);
  const test = (name: ConformanceCase, title: string, body: () => Promise<void>) =>
    (skip.has(name) ? it.skip : it)(`${name}: ${title}`, body, timeout);

  describe(`executor conformance: ${options.name}`, () => {
    test('success', 'a passing script ends with "Job succeeded" and cleanup runs once', async () => {
      const { result, trace, cleanups } = await run(job(['echo conformance-ok']));
      expect(result.outcome).toEqual({ status: 'success' });
      expect(trace).toContain('\nconformance-ok\n');
      expect(trace.endsWith('\x1b[32;1mJob succeeded\x1b[0;m\n')).toBe(true);
      expect(trace).toMatch(/^\x1b\[0KRunning with runnerkit 0\.0\.0-conformance \(conformance\)\x1b\[0;m\n/);
      expect(cleanups).toBe(1);
      expect(result.trace.bytesize).toBe(Buffer.byteLength(trace));
    });

    test('exit-codes', 'the failing command ends the script; its exit code is the outcome', async () => {
      const { result, trace } = await run(job(['echo before', 'exit 42', 'echo never-printed']));
      expect(result.outcome).toEqual({
        status: 'failed',
        failureReason: 'script_failure',
        exitCode: 42,
        message: 'exit code 42',
      });
      expect(trace).toContain('\nbefore\n');
      expect(trace).not.toContain('never-printed\n');
      expect(trace.endsWith('\x1b[31;1mERROR: Job failed: exit code 42\x1b[0;m\n')).toBe(true);
    });

    test('sections', 'every stage is a section with its description line', async () => {
      const { trace } = await run(job(['echo in-section']));
      const executor = await options.createExecutor();
      await executor.cleanup();
      expect(trace).toMatch(
        new RegExp(
          `section_start:\\d+:prepare_executor\\r\\x1b\\[0K\\x1b\\[0K\\x1b\\[36;1mPreparing the "${executor.name}" executor\\x1b\\[0;m\\x1b\\[0;m\\n`,
        ),
      );
      expect(trace).toMatch(
        /section_start:\d+:step_script\r\x1b\[0K\x1b\[0K\x1b\[36;1mExecuting "step_script" stage of the job script\x1b\[0;m\x1b\[0;m\n/,
      );
      expect(trace).toMatch(
        /\x1b\[32;1m\$ echo in-section\x1b\[0;m\nin-section\n[\s\S]*section_end:\d+:step_script\r\x1b\[0K/,
      );
      const order = [...trace.matchAll(/section_start:\d+:([a-z_]+)/g)].map((match) => match[1]);
      expect(order).toEqual([
        'prepare_executor',
        'prepare_script',
        'get_sources',
        'step_script',
        'cleanup_file_variables',
      ]);
    });

    test('variables', 'job variables reach the script unexpanded by the shell, with GitLab precedence', async () => {
      const { result, trace } = await run(
        job(
          ['echo "v=$TRICKY"', 'echo "over=$OVERRIDDEN"', 'echo "status=$CI_JOB_STATUS"', 'echo "server=$CI_SERVER"'],
          {
            variables: [
              ...(options.payload?.variables ?? []),
              { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
              { key: 'TRICKY', value: `it's "quoted" $HOME \\ end`, public: true, masked: false, raw: true },
              { key: 'OVERRIDDEN', value: 'from-job', public: true, masked: false },
            ],
          },
        ),
        {},
      );
      expect(result.outcome.status).toBe('success');
      expect(trace).toContain(`\nv=it's "quoted" $HOME \\ end\n`);
      expect(trace).toContain('\nover=from-job\n');
      expect(trace).toContain('\nstatus=running\n');
      expect(trace).toContain('\nserver=yes\n');
    });

    test('file-variables', 'a file variable is a path whose file holds the value', async () => {
      const { result, trace } = await run(
        job(['cat "$CERT"'], {
          variables: [
            ...(options.payload?.variables ?? []),
            { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
            { key: 'CERT', value: 'line-one\nline-two\n', public: true, masked: false, file: true },
          ],
        }),
      );
      expect(result.outcome.status).toBe('success');
      expect(trace).toContain('\nline-one\nline-two\n');
    });

    test('masking', 'masked values never reach the trace, even written in pieces', async () => {
      const secret = 'conformance-secret-Zx9';
      const { result, trace } = await run(
        job(['echo "plain $SECRET end"', "printf '%s' conformance-sec; sleep 1; printf '%s\\n' ret-Zx9"], {
          variables: [
            ...(options.payload?.variables ?? []),
            { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
            { key: 'SECRET', value: secret, public: false, masked: true },
          ],
        }),
      );
      expect(result.outcome.status).toBe('success');
      expect(trace).not.toContain(secret);
      expect(trace).toContain('\nplain [MASKED] end\n');
      expect(trace).toContain('\n[MASKED]\n');
    });

    test(
      'after-script-after-failure',
      'after_script runs after a failed script and sees CI_JOB_STATUS=failed',
      async () => {
        const { result, trace } = await run(job(['exit 3'], {}, ['echo "after status=$CI_JOB_STATUS"']));
        expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 3 });
        expect(trace).toMatch(
          /section_start:\d+:after_script\r\x1b\[0K\x1b\[0K\x1b\[36;1mRunning after_script\x1b\[0;m/,
        );
        expect(trace).toContain('\nafter status=failed\n');
        expect(trace.endsWith('\x1b[31;1mERROR: Job failed: exit code 3\x1b[0;m\n')).toBe(true);
      },
    );

    test(
      'job-timeout',
      'the job timeout stops a running script and fails the job as job_execution_timeout',
      async () => {
        const { result, trace, durationMs, cleanups } = await run(job(['sleep 60'], { runner_info: { timeout: 2 } }));
        expect(result.outcome).toEqual({
          status: 'failed',
          failureReason: 'job_execution_timeout',
          message: 'execution took longer than 2s seconds',
        });
        expect(durationMs).toBeLessThan(30_000);
        expect(cleanups).toBe(1);
        expect(trace.endsWith('\x1b[31;1mERROR: Job failed: execution took longer than 2s seconds\x1b[0;m\n')).toBe(
          true,
        );
      },
    );

    test('script-timeout', 'RUNNER_SCRIPT_TIMEOUT stops the script; after_script still runs', async () => {
      const { result, trace } = await run(
        job(
          ['sleep 60'],
          {
            variables: [
              ...(options.payload?.variables ?? []),
              { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
              { key: 'RUNNER_SCRIPT_TIMEOUT', value: '1s', public: true, masked: false },
            ],
          },
          ['echo "after status=$CI_JOB_STATUS"'],
        ),
      );
      expect(result.outcome).toEqual({
        status: 'failed',
        failureReason: 'job_execution_timeout',
        message: 'script timeout: context deadline exceeded',
      });
      expect(trace).toContain('step_script could not run to completion because the timeout was exceeded.');
      expect(trace).toContain('\nafter status=timedout\n');
    });

    test('abort', 'a hard abort stops the script at once; only executor cleanup runs', async () => {
      const controller = new AbortController();
      const payload = job(['echo started', 'sleep 60'], {}, ['echo after-must-not-run']);
      // Abort once the script is running (a fixed delay from the start could land before it on a loaded host).
      const pending = run(payload, { abortSignal: controller.signal, onEvent: abortWhenScriptRuns(controller) });
      const { result, trace, durationMs, cleanups } = await pending;
      expect(result.outcome).toEqual({ status: 'failed', failureReason: 'job_canceled', message: 'canceled' });
      expect(trace).not.toContain('after-must-not-run');
      expect(trace).not.toContain('cleanup_file_variables');
      expect(durationMs).toBeLessThan(30_000);
      expect(cleanups).toBe(1);
      expect(trace.endsWith('\x1b[31;1mERROR: Job failed: canceled\x1b[0;m\n')).toBe(true);
    });

    test(
      'graceful-cancel',
      'a graceful cancel stops the script, then after_script runs with CI_JOB_STATUS=canceled',
      async () => {
        const controller = new AbortController();
        const payload = job(['sleep 60'], {}, ['echo "after status=$CI_JOB_STATUS"']);
        const pending = run(payload, { cancelSignal: controller.signal, onEvent: abortWhenScriptRuns(controller) });
        const { result, trace } = await pending;
        expect(result.outcome).toEqual({ status: 'failed', failureReason: 'job_canceled', message: 'canceled' });
        expect(trace).toContain('WARNING: script canceled externally (UI, API)');
        expect(trace).toContain('\nafter status=canceled\n');
      },
    );

    test('cleanup-idempotent', 'cleanup is safe before prepare and safe to repeat', async () => {
      const executor = await options.createExecutor();
      await expect(executor.cleanup()).resolves.toBeUndefined();
      await expect(executor.cleanup()).resolves.toBeUndefined();
    });
  });
}

/** An event handler that aborts `controller` one second after the step_script section starts. */
function abortWhenScriptRuns(controller: AbortController): (event: RuntimeEvent) => void {
  return (event) => {
    if (event.type === 'section-start' && event.stage === 'step_script') setTimeout(() => controller.abort(), 1000);
  };
}
