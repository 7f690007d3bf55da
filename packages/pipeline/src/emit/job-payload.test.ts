import { readFileSync } from 'node:fs';
import { findJobPayloadProblems, JobPayloadSchema, parseJobPayload } from '@runnerkit/job-spec';
import { describe, expect, it } from 'vitest';
import { compilePipeline } from '../compile.js';
import { buildJobPayload, buildWireJobPayload } from './build-job-payload.js';

const yaml = `
build:
  stage: build
  image:
    name: registry.example.com/ruby:3.3
    entrypoint: ["/bin/sh", "-c"]
    docker: { platform: linux/amd64, user: "1000:1000" }
    pull_policy: [if-not-present, always]
  services:
    - name: postgres:16-alpine
      alias: db,postgres
      command: [postgres, -c, fsync=off]
      variables: { POSTGRES_DB: app }
    - redis:7
  before_script: [bundle install]
  script: [bundle exec rake build]
  after_script: [echo cleaning up]
  artifacts:
    paths: [pkg/]
test:
  script: rspec
`;

async function compiled() {
  const result = await compilePipeline({ yaml, project: { id: 42, path: 'group/project' }, pipeline: { id: 501 } });
  if (!result.ok) throw result.error;
  return result.pipeline;
}

describe('job payloads', () => {
  it('builds a payload job-spec parses, with steps, image and services as GitLab sends them', async () => {
    const pipeline = await compiled();
    const wire = buildWireJobPayload(pipeline.jobs[0]!, {
      jobId: 1000,
      jobToken: 'glcbt-build',
      repoUrl: 'http://x/group/project.git',
    });
    const parsed = parseJobPayload(JSON.parse(JSON.stringify(wire)));
    expect(parsed.success).toBe(true);
    expect(wire.steps).toEqual([
      {
        name: 'script',
        script: ['bundle install', 'bundle exec rake build'],
        timeout: 3600,
        when: 'on_success',
        allow_failure: false,
      },
      { name: 'after_script', script: ['echo cleaning up'], timeout: 3600, when: 'always', allow_failure: true },
    ]);
    expect(wire.image).toEqual({
      name: 'registry.example.com/ruby:3.3',
      entrypoint: ['/bin/sh', '-c'],
      ports: [],
      executor_opts: { docker: { platform: 'linux/amd64', user: '1000:1000' } },
      pull_policy: ['if-not-present', 'always'],
    });
    expect(wire.services).toEqual([
      {
        name: 'postgres:16-alpine',
        entrypoint: null,
        ports: [],
        executor_opts: {},
        pull_policy: null,
        alias: 'db,postgres',
        command: ['postgres', '-c', 'fsync=off'],
        variables: [{ key: 'POSTGRES_DB', value: 'app' }],
      },
      {
        name: 'redis:7',
        entrypoint: null,
        ports: [],
        executor_opts: {},
        pull_policy: null,
        alias: null,
        command: null,
        variables: [],
      },
    ]);
    expect(findJobPayloadProblems(buildJobPayload(pipeline.jobs[0]!, { jobId: 1000, jobToken: 't' }))).toEqual([]);
  });

  it('has the same top-level keys as GitLab’s minimal fixture', async () => {
    const fixture = JSON.parse(readFileSync('/work/shared/spec/fixtures/api/job-minimal.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const wire = buildWireJobPayload((await compiled()).jobs[1]!, {
      jobId: 1001,
      jobToken: 't',
      repoUrl: 'http://x/p.git',
    });
    expect(Object.keys(wire).sort()).toEqual(Object.keys(fixture).sort());
    expect(wire.artifacts).toBeNull();
    expect(wire.image).toBeNull();
  });

  it('lists the dependencies the coordinator passes, with their artifact files', async () => {
    const pipeline = await compiled();
    const test = pipeline.jobs[1]!;
    expect(test.dependencies).toEqual(['build']);
    const payload = buildJobPayload(test, {
      jobId: 1001,
      jobToken: 'glcbt-test',
      dependencies: [
        { id: 1000, name: 'build', token: 'glcbt-test', artifactsFile: { filename: 'artifacts.zip', size: 2048 } },
      ],
    });
    expect(payload.dependencies).toEqual([
      { id: 1000, name: 'build', token: 'glcbt-test', artifacts_file: { filename: 'artifacts.zip', size: 2048 } },
    ]);
    expect(JobPayloadSchema.parse(payload)).toEqual(payload);
  });

  it('sets GIT_STRATEGY=none when there is no repository URL', async () => {
    const payload = buildJobPayload((await compiled()).jobs[1]!, { jobId: 7, jobToken: 't' });
    expect(payload.variables.at(-1)).toEqual({
      key: 'GIT_STRATEGY',
      value: 'none',
      public: true,
      masked: false,
      file: false,
      raw: false,
    });
    expect(payload.variables.find((v) => v.key === 'CI_REPOSITORY_URL')).toBeUndefined();
    expect(payload.git_info.repo_url).toBe('');
  });
});

describe('the protected-ref context', () => {
  it('sets CI_COMMIT_REF_PROTECTED and git_info.protected from the compile option, overridable per payload', async () => {
    const result = await compilePipeline({ yaml: 'job:\n  script: echo\n', protectedRef: true });
    if (!result.ok) throw result.error;
    const job = result.pipeline.jobs[0]!;
    const protectedOf = (payload: ReturnType<typeof buildWireJobPayload>) => [
      payload.variables?.filter((v) => v.key === 'CI_COMMIT_REF_PROTECTED').map((v) => v.value),
      payload.git_info?.protected,
    ];
    expect(protectedOf(buildWireJobPayload(job, { jobId: 1, jobToken: 't' }))).toEqual([['true'], true]);
    expect(protectedOf(buildWireJobPayload(job, { jobId: 1, jobToken: 't', protectedRef: false }))).toEqual([
      ['false'],
      false,
    ]);
    const plain = await compilePipeline({ yaml: 'job:\n  script: echo\n' });
    if (!plain.ok) throw plain.error;
    expect(
      protectedOf(buildWireJobPayload(plain.pipeline.jobs[0]!, { jobId: 1, jobToken: 't', protectedRef: true })),
    ).toEqual([['true'], true]);
  });
});
