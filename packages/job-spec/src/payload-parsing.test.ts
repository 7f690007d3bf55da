import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findJobPayloadProblems, parseJobPayload, readRunSteps } from './index.js';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/api/${name}`, import.meta.url), 'utf8'));
}

interface InvalidCase {
  name: string;
  errorPath: string;
  payload: unknown;
}
interface FailureCase {
  name: string;
  payload: unknown;
  expectedTraceContains: string;
}
const invalid = fixture('job-invalid-cases.json') as { cases: InvalidCase[]; jobFailureCases: FailureCase[] };

describe('parseJobPayload', () => {
  it.each(['job-minimal.json', 'job-rich.json', 'job-run-steps.json', 'job-sparse.json'])('parses %s', (name) => {
    const result = parseJobPayload(fixture(name));
    if (!result.success) throw result.error;
    expect(result.data.id).toBeGreaterThan(0);
  });

  it('normalises nulls and missing fields to empty values', () => {
    const result = parseJobPayload(fixture('job-sparse.json'));
    if (!result.success) throw result.error;
    const job = result.data;
    expect(job.image).toBeNull();
    expect(job.artifacts).toEqual([]);
    expect(job.variables).toEqual([]);
    expect(job.runner_info.timeout).toBe(0);
    expect(job.git_info.repo_object_format).toBe('sha1');
    expect(job.steps).toEqual([
      { name: 'script', script: ['true'], timeout: 0, when: 'on_success', allow_failure: false },
    ]);
    expect('some_future_field' in job).toBe(false);
  });

  it('reads every field of the rich payload', () => {
    const result = parseJobPayload(fixture('job-rich.json'));
    if (!result.success) throw result.error;
    const job = result.data;
    expect(job.image?.executor_opts.docker?.user).toBe('1000:1000');
    expect(job.image?.pull_policy).toEqual(['if-not-present', 'always']);
    expect(job.services.map((service) => [service.alias, service.command, service.entrypoint])).toEqual([
      ['db,postgres', ['postgres', '-c', 'fsync=off'], ['docker-entrypoint.sh']],
      ['cache-redis', [], []],
    ]);
    expect(job.variables.find((variable) => variable.key === 'DEPLOY_KEY_FILE')?.file).toBe(true);
    expect(job.variables.find((variable) => variable.key === 'LITERAL_DOLLARS')?.raw).toBe(true);
    expect(job.variables.find((variable) => variable.key === 'CI_JOB_ID')?.raw).toBe(false);
    expect(job.steps.map((step) => [step.name, step.when, step.allow_failure])).toEqual([
      ['script', 'on_success', false],
      ['release', 'on_success', false],
      ['after_script', 'always', true],
    ]);
    expect(job.artifacts[1]).toEqual({
      name: 'junit.xml',
      untracked: false,
      paths: ['rspec.xml'],
      exclude: [],
      when: 'always',
      expire_in: '1 week',
      artifact_type: 'junit',
      artifact_format: 'gzip',
    });
    expect(job.cache[0]?.fallback_keys).toEqual(['gems-main-protected', 'gems-default-protected']);
    expect(job.dependencies).toEqual([
      {
        id: 1000,
        name: 'build',
        token: 'glcbt-64_FAKE-job-token-0001001',
        artifacts_file: { filename: 'artifacts.zip', size: 1048576 },
      },
      { id: 999, name: 'lint', token: 'glcbt-64_FAKE-job-token-0001001', artifacts_file: null },
    ]);
    expect(job.features.token_mask_prefixes).toEqual(['glpat-', 'glcbt-']);
    expect(job.secrets.VAULT_DB_PASSWORD?.file).toBe(false);
    expect(job.inputs[1]?.value.content).toBe(4);
    expect(job.job_info.project_jobs_running_on_instance_runners_count).toBe('3');
  });

  it.each(invalid.cases.map((entry) => [entry.name, entry] as const))('rejects %s naming the field', (_, entry) => {
    const result = parseJobPayload(entry.payload);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.code).toBe('JOB_SPEC_INVALID_PAYLOAD');
    expect(result.error.issues.map((issue) => issue.path)).toContain(entry.errorPath);
    expect(result.error.message).toContain(`${entry.errorPath}: `);
  });

  it('writes messages that name the path and the expected type', () => {
    const result = parseJobPayload({
      id: 1001,
      token: 'glcbt-secret-token',
      steps: [{ name: 'script', script: 'echo hi' }],
      image: { name: 'alpine', executor_opts: { docker: { user: true } } },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.message).toMatchInlineSnapshot(
      `"invalid job payload: steps[0].script: expected array, got string; image.executor_opts.docker.user: expected string | number, got boolean"`,
    );
    expect(result.job).toEqual({ id: 1001, token: 'glcbt-secret-token' });
    expect(result.error.message).not.toContain('glcbt-secret-token');
  });

  it('gives no job to report when id or token is unusable', () => {
    const result = parseJobPayload({ id: '1001', token: 'glcbt-x' });
    expect(result.success ? 'parsed' : result.job).toBeNull();
  });

  it('rejects ids that are not safe integers', () => {
    const result = parseJobPayload({ id: 2 ** 53, token: 't' });
    expect(result.success ? [] : result.error.issues.map((issue) => issue.path)).toEqual(['id']);
    const dependency = parseJobPayload({ id: 1, token: 't', dependencies: [{ id: 1.5, name: 'x' }] });
    expect(dependency.success ? [] : dependency.error.issues.map((issue) => issue.path)).toEqual([
      'dependencies[0].id',
    ]);
  });

  it('accepts an integer docker user and turns it into text', () => {
    const result = parseJobPayload({
      id: 1,
      token: 't',
      image: { name: 'a', executor_opts: { docker: { user: 1000 } } },
    });
    expect(result.success && result.data.image?.executor_opts.docker?.user).toBe('1000');
  });

  it('reports a run field that is not a JSON array at path run', () => {
    const result = parseJobPayload({ id: 1, token: 't', run: '{not json' });
    expect(result.success ? [] : result.error.issues.map((issue) => issue.path)).toEqual(['run']);
    const parsed = parseJobPayload(fixture('job-run-steps.json'));
    if (!parsed.success) throw parsed.error;
    expect(readRunSteps(parsed.data)).toEqual([{ name: 'hello', script: 'echo hello from steps' }]);
  });
});

describe('findJobPayloadProblems', () => {
  it.each(invalid.jobFailureCases.map((entry) => [entry.name, entry] as const))('finds %s', (_, entry) => {
    const result = parseJobPayload(entry.payload);
    if (!result.success) throw result.error;
    expect(findJobPayloadProblems(result.data).map((problem) => problem.message)).toContain(
      entry.expectedTraceContains,
    );
  });

  it('finds nothing wrong with the fixtures GitLab sends', () => {
    for (const name of ['job-minimal.json', 'job-rich.json', 'job-run-steps.json', 'job-sparse.json']) {
      const result = parseJobPayload(fixture(name));
      if (!result.success) throw result.error;
      expect(findJobPayloadProblems(result.data)).toEqual([]);
    }
  });

  it('refuses run with a STEPS variable', () => {
    const result = parseJobPayload({ id: 1, token: 't', run: '[]', variables: [{ key: 'STEPS', value: '[]' }] });
    if (!result.success) throw result.error;
    expect(findJobPayloadProblems(result.data).map((problem) => problem.code)).toEqual(['run_with_steps_variable']);
  });
});
