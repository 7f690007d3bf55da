import { describe, expect, it } from 'vitest';
import { ExecutorError, StageFailedError } from '../errors.js';
import type { CacheEntry, Executor } from '../executor/contract.js';
import { conformancePayload, MemoryTraceSink } from '../testing/conformance.js';
import {
  createScriptedExecutor,
  type ScriptedCall,
  type ScriptedExecutorSettings,
} from '../testing/scripted-executor.js';
import type { RuntimeJobPayload } from './payload.js';
import { type RunJobOptions, RunnerInterrupt, runJob } from './run-job.js';

const FIXED = Date.UTC(2026, 4, 8, 9, 28, 47);

async function run(
  payload: RuntimeJobPayload,
  settings: ScriptedExecutorSettings = {},
  extra: Partial<RunJobOptions> = {},
) {
  const sink = new MemoryTraceSink();
  const executor = createScriptedExecutor(settings);
  const result = await runJob({
    payload,
    executor,
    trace: sink,
    runner: {
      version: '1.2.3',
      revision: 'abcdef12',
      name: 'unit',
      token: 'glrt-t1_t9Wkyj-HGRkqQ',
      systemId: 's_0123456789ab',
      hostname: 'runner-host',
      featureFlags: { FF_TIMESTAMPS: false },
      ...extra.runner,
    },
    clock: () => FIXED,
    prepareRetryDelayMs: 1,
    ...extra,
  });
  const readable = sink.text.replace(/\x1b/g, '\\e').replace(/\r/g, '\\r');
  return { result, trace: sink.text, readable, calls: executor.calls };
}

const stagesRun = (calls: readonly ScriptedCall[]) =>
  calls.filter((call) => call.method === 'run').map((call) => call.stage);

describe('the job trace users recognise', () => {
  it('writes header, sections, description lines and "Job succeeded" as GitLab does', async () => {
    const { result, readable } = await run(conformancePayload(['echo hello']));
    expect(result.outcome).toEqual({ status: 'success' });
    expect(readable).toMatchInlineSnapshot(`
      "\\e[0KRunning with runnerkit 1.2.3 (abcdef12)\\e[0;m
      \\e[0K  on unit t9Wkyj-HG, system ID: s_0123456789ab\\e[0;m
      \\e[0K  feature flags: FF_TIMESTAMPS:false\\e[0;m
      section_start:1778232527:prepare_executor\\r\\e[0K\\e[0K\\e[36;1mPreparing the "scripted" executor\\e[0;m\\e[0;m
      \\e[0KUsing scripted executor...\\e[0;m
      section_end:1778232527:prepare_executor\\r\\e[0Ksection_start:1778232527:prepare_script\\r\\e[0K\\e[0K\\e[36;1mPreparing environment\\e[0;m\\e[0;m
      section_end:1778232527:prepare_script\\r\\e[0Ksection_start:1778232527:get_sources\\r\\e[0K\\e[0K\\e[36;1mGetting source from Git repository\\e[0;m\\e[0;m
      section_end:1778232527:get_sources\\r\\e[0Ksection_start:1778232527:step_script\\r\\e[0K\\e[0K\\e[36;1mExecuting "step_script" stage of the job script\\e[0;m\\e[0;m
      \\e[32;1m$ echo hello\\e[0;m
      hello
      section_end:1778232527:step_script\\r\\e[0Ksection_start:1778232527:cleanup_file_variables\\r\\e[0K\\e[0K\\e[36;1mCleaning up project directory and file based variables\\e[0;m\\e[0;m
      section_end:1778232527:cleanup_file_variables\\r\\e[0K\\e[32;1mJob succeeded\\e[0;m
      "
    `);
    expect(result.trace.bytesize).toBe(Buffer.byteLength(readable.replace(/\\e/g, '\x1b').replace(/\\r/g, '\r')));
  });

  it('prints setting warnings after the header and clamps attempts', async () => {
    const payload = conformancePayload(['true'], {
      variables: [
        { key: 'GIT_STRATEGY', value: 'bogus', public: true, masked: false },
        { key: 'GET_SOURCES_ATTEMPTS', value: '20', public: true, masked: false },
        { key: 'RUNNER_SCRIPT_TIMEOUT', value: 'soon', public: true, masked: false },
      ],
    });
    const { trace } = await run(payload);
    expect(trace).toContain(
      `\x1b[0;33mWARNING: GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' got "bogus", using default value 'clone'\x1b[0;m\n`,
    );
    expect(trace).toContain(
      'WARNING: GET_SOURCES_ATTEMPTS: number of attempts out of the range [1, 10], clamping to: 10',
    );
    expect(trace).toContain('WARNING: Ignoring malformed RUNNER_SCRIPT_TIMEOUT timeout: soon');
  });

  it('runs every user step in order as step_<name> and stops at the first failure', async () => {
    const payload = conformancePayload(['echo a'], {
      steps: [
        { name: 'script', script: ['exit 2'], when: 'on_success' },
        { name: 'release', script: ['echo release'], when: 'on_success' },
        { name: 'after_script', script: ['echo after'], when: 'always' },
      ],
    });
    const { result, calls } = await run(payload);
    expect(stagesRun(calls)).toEqual([
      'prepare_script',
      'get_sources',
      'step_script',
      'after_script',
      'cleanup_file_variables',
    ]);
    expect(result.outcome).toMatchObject({ failureReason: 'script_failure', exitCode: 2 });
  });
});

describe('prepare', () => {
  it('retries unclassified failures up to 3 times with a fresh executor, cleaning up each', async () => {
    const calls: ScriptedCall[] = [];
    let created = 0;
    const sink = new MemoryTraceSink();
    const result = await runJob({
      payload: conformancePayload(['echo ok']),
      executor: () =>
        createScriptedExecutor({
          calls,
          prepareError: ++created < 3 ? new Error(`daemon hiccup ${created}`) : undefined,
        }) as Executor,
      trace: sink,
      runner: { version: '1', revision: 'r', token: 't', featureFlags: { FF_TIMESTAMPS: false } },
      prepareRetryDelayMs: 1,
    });
    expect(result.outcome).toEqual({ status: 'success' });
    expect(calls.slice(0, 5).map((call) => call.method)).toEqual([
      'prepare',
      'cleanup',
      'prepare',
      'cleanup',
      'prepare',
    ]);
    expect(sink.text).toContain('\x1b[31;1mERROR: Preparation failed: daemon hiccup 1\x1b[0;m\n');
    expect(sink.text).toContain('\x1b[0KWill be retried in 1ms ...\x1b[0;m\n');
  });

  it('fails at once on a classified failure, with its reason and no script stage', async () => {
    const { result, trace, calls } = await run(conformancePayload(['echo ok']), {
      prepareError: new ExecutorError(
        'failed to pull image "nope:1" with specified policies [always]: not found',
        'image_pull_failure',
      ),
    });
    expect(result.outcome).toEqual({
      status: 'failed',
      failureReason: 'image_pull_failure',
      message: 'failed to pull image "nope:1" with specified policies [always]: not found',
    });
    expect(stagesRun(calls)).toEqual([]);
    expect(calls.filter((call) => call.method === 'cleanup')).toHaveLength(1);
    expect(
      trace.endsWith(
        'ERROR: Job failed: failed to pull image "nope:1" with specified policies [always]: not found\x1b[0;m\n',
      ),
    ).toBe(true);
  });

  it('reports unclassified failures as system failures after the last attempt', async () => {
    const { result, trace } = await run(conformancePayload(['echo ok']), { prepareError: new Error('boom') });
    expect(result.outcome).toEqual({ status: 'failed', failureReason: 'runner_system_failure', message: 'boom' });
    expect(trace.endsWith('\x1b[31;1mERROR: Job failed (system failure): boom\x1b[0;m\n')).toBe(true);
  });

  it('does not retry an ExecutorError, even a system failure, and prints it as one', async () => {
    const { result, trace, calls } = await run(conformancePayload(['echo ok']), {
      prepareError: new ExecutorError('cannot create the builds directory'),
    });
    expect(calls.filter((call) => call.method === 'prepare')).toHaveLength(1);
    expect(result.outcome).toMatchObject({ failureReason: 'runner_system_failure' });
    expect(trace.endsWith('ERROR: Job failed (system failure): cannot create the builds directory\x1b[0;m\n')).toBe(
      true,
    );
  });

  it('masks payload secrets even when the job cannot be resolved', async () => {
    const payload = conformancePayload(['echo ok'], {
      variables: [
        { key: 'SECRET', value: 'do-not-print-me', public: false, masked: true },
        { key: 'GIT_CLONE_PATH', value: '/elsewhere/$SECRET', public: true, masked: false },
      ],
    });
    const { result, trace } = await run(payload);
    expect(result.outcome).toMatchObject({ failureReason: 'runner_configuration_error' });
    expect(trace).not.toContain('do-not-print-me');
    expect(trace).toContain('ERROR: Job failed: the GIT_CLONE_PATH="/elsewhere/[MASKED]" has to be within "/builds"');
  });

  it('refuses shells it cannot write scripts for', async () => {
    const { result } = await run(conformancePayload(['echo ok']), { shell: 'pwsh' });
    expect(result.outcome).toEqual({
      status: 'failed',
      failureReason: 'runner_configuration_error',
      message: 'shell "pwsh" is not supported: runnerkit writes job scripts for "bash" and "sh" only',
    });
  });

  it('a failing prepare_script ends the job without cleanup_file_variables', async () => {
    const { result, calls } = await run(conformancePayload(['echo ok']), {
      stages: { prepare_script: { exitCode: 1 } },
    });
    expect(stagesRun(calls)).toEqual(['prepare_script']);
    expect(result.outcome).toMatchObject({ failureReason: 'runner_system_failure' });
    expect((result.outcome as { message: string }).message).toMatch(/^prepare environment: exit code 1\. /);
  });
});

describe('failure rules of the later stages', () => {
  it('retries get_sources per GET_SOURCES_ATTEMPTS, then skips user steps and after_script', async () => {
    const payload = conformancePayload(['echo never'], {
      variables: [{ key: 'GET_SOURCES_ATTEMPTS', value: '2', public: true, masked: false }],
    });
    const { result, trace, calls } = await run(
      { ...payload, steps: [...(payload.steps ?? []), { name: 'after_script', script: ['echo after'] }] },
      { stages: { get_sources: { exitCode: 128, output: 'fatal: repository not found\n' } } },
    );
    expect(stagesRun(calls)).toEqual(['prepare_script', 'get_sources', 'get_sources', 'cleanup_file_variables']);
    expect(trace).toContain('\x1b[0;33mWARNING: Retrying...\x1b[0;m\n');
    expect(result.outcome).toMatchObject({ failureReason: 'script_failure', exitCode: 128 });
  });

  it('ignores after_script failures by default, and counts them with AFTER_SCRIPT_IGNORE_ERRORS=false', async () => {
    const job = (ignore?: string) =>
      conformancePayload(
        ['echo ok'],
        ignore
          ? { variables: [{ key: 'AFTER_SCRIPT_IGNORE_ERRORS', value: ignore, public: true, masked: false }] }
          : {},
        ['exit 5'],
      );
    const ignored = await run(job());
    expect(ignored.result.outcome).toEqual({ status: 'success' });
    expect(ignored.trace).toContain('WARNING: after_script failed, but job will continue unaffected: exit code 5');
    const counted = await run(job('false'));
    expect(counted.result.outcome).toMatchObject({ failureReason: 'script_failure', exitCode: 5 });
  });

  it('passes expanded cache entries to the executor and never fails the job on cache errors', async () => {
    const seen: { restore?: readonly CacheEntry[]; archive?: readonly CacheEntry[]; failed?: boolean } = {};
    const payload = conformancePayload(['exit 1'], {
      variables: [
        { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
        { key: 'CI_COMMIT_REF_SLUG', value: 'main', public: true, masked: false },
        { key: 'CACHE_FALLBACK_KEY', value: 'global', public: true, masked: false },
      ],
      cache: [
        {
          key: '$CI_COMMIT_REF_SLUG-non_protected',
          paths: ['vendor/'],
          policy: 'pull-push',
          when: 'always',
          fallback_keys: ['x-$CI_COMMIT_REF_SLUG'],
        },
        { key: 'only-success', paths: ['a/'], when: 'on_success' },
        { key: 'no-paths', paths: [] },
      ],
    });
    const { result, trace } = await run(payload, {
      stageHandlers: {
        restoreCache: async (_context, entries) => {
          seen.restore = entries;
          throw new Error('bucket unreachable');
        },
        archiveCache: async (context, entries, failed) => {
          seen.archive = entries;
          seen.failed = failed;
          context.log.info('Created cache');
        },
      },
    });
    expect(seen.restore).toEqual([
      {
        key: 'main-non_protected',
        fallbackKeys: ['x-main', 'global'],
        paths: ['vendor/'],
        untracked: false,
        policy: 'pull-push',
        when: 'always',
      },
      {
        key: 'only-success',
        fallbackKeys: ['global'],
        paths: ['a/'],
        untracked: false,
        policy: 'pull-push',
        when: 'on_success',
      },
    ]);
    expect(seen.archive?.map((entry) => entry.key)).toEqual(['main-non_protected']);
    expect(seen.failed).toBe(true);
    expect(trace).toContain('\x1b[0;33mFailed to extract cache\x1b[0;m\n');
    expect(trace).toMatch(
      /section_start:\d+:archive_cache_on_failure\r\x1b\[0K\x1b\[0K\x1b\[36;1mSaving cache for failed job/,
    );
    expect(result.outcome).toMatchObject({ failureReason: 'script_failure', exitCode: 1 });
  });

  it('uploads artifacts only with a runner URL, and an upload failure fails the job', async () => {
    const payload = conformancePayload(['echo ok'], {
      artifacts: [
        { name: 'out', paths: ['dist/'], when: 'on_success', artifact_type: 'archive', artifact_format: 'zip' },
      ],
    });
    const uploads: string[] = [];
    const stageHandlers = {
      uploadArtifacts: async (_context: unknown, entries: readonly { name?: string | null }[]) => {
        uploads.push(...entries.map((entry) => entry.name ?? ''));
        throw new StageFailedError('upload_artifacts_on_success', 'POST /api/v4/jobs/4242/artifacts: 500');
      },
    };
    const withoutUrl = await run(payload, { stageHandlers });
    expect(withoutUrl.result.outcome).toEqual({ status: 'success' });
    expect(uploads).toEqual([]);
    const withUrl = await run(
      payload,
      { stageHandlers },
      {
        runner: {
          url: 'http://127.0.0.1:1',
          version: '1',
          revision: 'r',
          token: 't',
          featureFlags: { FF_TIMESTAMPS: false },
        },
      },
    );
    expect(uploads).toEqual(['out']);
    expect(withUrl.result.outcome).toEqual({
      status: 'failed',
      failureReason: 'script_failure',
      message: 'POST /api/v4/jobs/4242/artifacts: 500',
    });
  });

  it('reports a runner stop as runner_interrupted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new RunnerInterrupt('SIGQUIT')), 200);
    const { result, trace } = await run(conformancePayload(['sleep 30']), {}, { abortSignal: controller.signal });
    expect(result.outcome).toEqual({
      status: 'failed',
      failureReason: 'runner_interrupted',
      message: 'aborted: SIGQUIT',
    });
    expect(trace.endsWith('ERROR: Job failed: aborted: SIGQUIT\x1b[0;m\n')).toBe(true);
  });

  it('masks the job token and masked variables in runner lines and output alike', async () => {
    const payload = conformancePayload(['echo "$PASSWORD" conformance-job-token glpat-abcdef'], {
      variables: [{ key: 'PASSWORD', value: 'hunter2-hunter2', public: false, masked: true }],
    });
    const { trace } = await run(payload, { prepareError: undefined });
    expect(trace).not.toContain('hunter2');
    expect(trace).toContain('\n[MASKED] [MASKED] glpat-[MASKED]\n');
  });
});

describe('after the job', () => {
  it('leaves no timer of its own behind (a pending cleanup time limit kept processes alive for minutes)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    await run(conformancePayload(['echo hi']));
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
