import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cacheVolumeName,
  projectRealUniqueName,
  projectUniqueName,
  projectUniqueShortName,
  serviceContainerName,
} from './naming.js';

const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/naming.json', import.meta.url), 'utf8')) as {
  input: Record<string, string | number>;
  expected: Record<string, string>;
};

describe('GitLab object names (spec fixture naming.json)', () => {
  const input = {
    shortToken: 't9Wkyj-HG',
    runnerToken: String(fixture.input.runner_token),
    systemId: String(fixture.input.system_id),
    projectId: Number(fixture.input.project_id),
    concurrentProjectId: Number(fixture.input.concurrent_project_id),
    jobId: Number(fixture.input.job_id),
  };
  it('matches every name of the vector', () => {
    const prefix = `${projectUniqueName(input)}-${fixture.input.random_hex16}`;
    expect(projectUniqueName(input)).toBe(fixture.expected.project_unique_name);
    expect(projectUniqueShortName(input)).toBe(fixture.expected.per_build_network);
    expect(projectRealUniqueName(input)).toBe(fixture.expected.project_real_unique_name);
    expect(cacheVolumeName(input, '/cache', false)).toBe(
      fixture.expected['persistent_cache_volume_for_/cache (>=18.4)'],
    );
    expect(cacheVolumeName(input, '/cache', true)).toBe(
      fixture.expected['persistent_cache_volume_for_/cache on protected ref'],
    );
    expect(cacheVolumeName(input, '/builds', false)).toBe(
      fixture.expected['builds_volume_fetch_strategy (persistent)'],
    );
    expect(`${prefix}-build`).toBe(fixture.expected.build_container);
    expect(serviceContainerName(prefix, 'postgres', 0)).toBe(
      fixture.expected['service_container_for_services[0]=postgres:15'],
    );
    expect(serviceContainerName(prefix, 'registry.example.com/group/redis', 1)).toBe(
      fixture.expected['service_container_for_services[1]=registry.example.com:5000/group/redis:7'],
    );
  });
});
