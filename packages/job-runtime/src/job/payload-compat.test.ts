import { type JobPayload, parseJobPayload } from '@runnerkit/job-spec';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RuntimeJobPayload } from './payload.js';

describe('the runtime reads payloads parsed by @runnerkit/job-spec', () => {
  it('accepts a JobPayload where a RuntimeJobPayload is expected', () => {
    expectTypeOf<JobPayload>().toExtend<RuntimeJobPayload>();
  });

  it('reads a parsed minimal payload', () => {
    const parsed = parseJobPayload({
      id: 1,
      token: 'job-token',
      allow_git_fetch: true,
      job_info: { id: 1, name: 'build', stage: 'test', project_id: 9, project_name: 'p' },
      git_info: {
        repo_url: 'https://gitlab.example.com/g/p.git',
        ref: 'main',
        sha: 'abc',
        before_sha: '0',
        ref_type: 'branch',
        refspecs: [],
        depth: 0,
      },
      runner_info: { timeout: 60 },
      variables: [{ key: 'A', value: 'b', public: true, masked: false }],
      steps: [{ name: 'script', script: ['echo hi'], timeout: 60, when: 'on_success', allow_failure: false }],
      hooks: [],
      image: null,
      services: [],
      artifacts: null,
      cache: [],
      credentials: [],
      features: { trace_sections: true },
      dependencies: [],
    });
    expect(parsed.success).toBe(true);
    if (!parsed.success) return;
    const payload: RuntimeJobPayload = parsed.data;
    expect(payload.steps?.[0]?.script).toEqual(['echo hi']);
  });
});
