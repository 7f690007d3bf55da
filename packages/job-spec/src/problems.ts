import type { ExecutorOptions, JobPayload } from './schemas/payload.js';

/** A reason to fail a job that parsed but cannot run (api-spec §5.6); `message` is the trace line GitLab Runner writes. */
export interface JobPayloadProblem {
  readonly code: 'unsupported_executor_options' | 'run_with_script' | 'run_with_steps_variable';
  readonly message: string;
}

export interface FindJobPayloadProblemsOptions {
  /** The executor options table to check `executor_opts` against (`docker` or `kubernetes`). */
  readonly executor?: 'docker' | 'kubernetes';
}

const SUPPORTED_EXECUTOR_OPTIONS: Record<'docker' | 'kubernetes', readonly string[]> = {
  docker: ['platform', 'user'],
  kubernetes: ['user'],
};

/**
 * Semantic checks a runner makes before running a parsed payload. Each problem fails the job with
 * `runner_system_failure` and its message in the trace.
 */
export function findJobPayloadProblems(
  payload: JobPayload,
  options: FindJobPayloadProblemsOptions = {},
): JobPayloadProblem[] {
  const problems: JobPayloadProblem[] = [];
  const executor = options.executor ?? 'docker';
  const check = (field: 'image' | 'services', executorOptions: ExecutorOptions) => {
    const section = executorOptions[executor];
    if (section === undefined || section === null) return;
    const supported = SUPPORTED_EXECUTOR_OPTIONS[executor];
    const unknown = Object.keys(section)
      .filter((key) => !supported.includes(key))
      .sort();
    if (unknown.length === 0) return;
    problems.push({
      code: 'unsupported_executor_options',
      message: `Unsupported "${field}" options [${unknown.join(' ')}] for "${executor} executor"; supported options are [${supported.join(' ')}]`,
    });
  };
  if (payload.image) check('image', payload.image.executor_opts);
  for (const service of payload.services) check('services', service.executor_opts);

  if (payload.run !== undefined && payload.run !== '') {
    if (payload.steps.some((step) => step.script.length > 0)) {
      problems.push({ code: 'run_with_script', message: 'the `run` and `script` keywords cannot be used together' });
    }
    if (payload.variables.some((variable) => variable.key === 'STEPS')) {
      problems.push({
        code: 'run_with_steps_variable',
        message: 'the `run` keyword requires the exclusive use of the variable STEPS',
      });
    }
  }
  return problems;
}

/** The `run` field's step definitions (the payload parser has already checked that it is a JSON array). */
export function readRunSteps(payload: JobPayload): unknown[] {
  if (payload.run === undefined || payload.run === '') return [];
  const parsed: unknown = JSON.parse(payload.run);
  return Array.isArray(parsed) ? parsed : [];
}
