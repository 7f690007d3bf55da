import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  GITLAB_FAILURE_REASONS,
  JobRequestBodySchema,
  JobUpdateBodySchema,
  mapFailureReason,
  parseBody,
  RUNNER_FAILURE_REASONS,
  RunnerInfoBodySchema,
  TRACE_CHECKSUM_PATTERN,
} from './index.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/api/${name}`, import.meta.url), 'utf8'));
}

describe('request bodies', () => {
  it('parses the job request body of the docker executor', () => {
    const result = parseBody(JobRequestBodySchema, fixture('job-request-body.json'), 'job request');
    if (!result.success) throw result.error;
    expect(result.data.info?.features.cancel_gracefully).toBe(true);
    expect(result.data.last_update).toBe('8ad3c5d1b2e64f0a9c7e1d2f3a4b5c6d');
  });

  it.each(['job-update-success.json', 'job-update-script-failure.json', 'job-update-exchanges.json'])(
    'parses every PUT body in %s',
    (name) => {
      const exchanges = fixture(name).exchanges as { request: { method: string; body?: unknown } }[];
      const bodies = exchanges.filter((exchange) => exchange.request.method === 'PUT' && exchange.request.body);
      expect(bodies.length).toBeGreaterThan(0);
      for (const exchange of bodies) {
        const result = parseBody(JobUpdateBodySchema, exchange.request.body, 'job update');
        // The fixtures include a deliberately bad state (400 path); everything else parses.
        if (!result.success) expect(result.error.issues.map((issue) => issue.path)).toEqual(['state']);
        else if (result.data.output?.checksum) expect(result.data.output.checksum).toMatch(TRACE_CHECKSUM_PATTERN);
      }
    },
  );

  it('fills every runner feature with false when info is partial', () => {
    const result = parseBody(RunnerInfoBodySchema, { name: 'runnerkit', features: { image: true } }, 'info');
    if (!result.success) throw result.error;
    expect(Object.values(result.data.features).filter(Boolean)).toEqual([true]);
    expect(result.data.config).toEqual({ gpus: '' });
  });
});

describe('failure reasons', () => {
  const reasons = fixture('failure-reasons.json') as {
    gitlab: string[];
    runner: string[];
    compatibility: Record<string, string>;
  };

  it('lists the same reasons as the spec fixture', () => {
    expect([...GITLAB_FAILURE_REASONS]).toEqual(reasons.gitlab);
    expect([...RUNNER_FAILURE_REASONS]).toEqual(reasons.runner);
  });

  it('maps reasons the server does not list', () => {
    const old = ['unknown_failure', 'script_failure'];
    expect(mapFailureReason('', old)).toBe('script_failure');
    expect(mapFailureReason('image_pull_failure', old)).toBe('runner_system_failure');
    expect(mapFailureReason('runner_configuration_error', old)).toBe('script_failure');
    expect(mapFailureReason('job_canceled', reasons.gitlab)).toBe('unknown_failure');
    expect(mapFailureReason('runner_interrupted', old)).toBe('unknown_failure');
    expect(mapFailureReason('runner_interrupted', reasons.gitlab)).toBe('runner_interrupted');
    expect(mapFailureReason('job_execution_timeout', [])).toBe('job_execution_timeout');
  });
});
