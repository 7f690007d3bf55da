import { compilePipeline } from '@runnerkit/pipeline';
import { describe, expect, it } from 'vitest';
import { JobSelectionError, selectJobs } from './select.js';

const YAML = `stages: [build, test, deploy]
build:
  stage: build
  script: [make]
unit:
  stage: test
  parallel: 2
  script: [test]
lint:
  stage: test
  needs: []
  script: [lint]
deploy:
  stage: deploy
  needs: [unit]
  when: manual
  script: [ship]
docs:
  stage: deploy
  script: [docs]
`;

async function compiled() {
  const result = await compilePipeline({ yaml: YAML });
  if (!result.ok) throw result.error;
  return result.pipeline;
}

const shape = (pipeline: Awaited<ReturnType<typeof compiled>>) =>
  pipeline.jobs.map(
    (job) => `${job.name} needs=${job.needs === null ? 'stage' : job.needs.map((n) => n.name).join(',') || '-'}`,
  );

describe('which jobs exec runs', () => {
  it('runs every job when none is named', async () => {
    const pipeline = await compiled();
    const selected = selectJobs(pipeline, [], false);
    expect(selected.pipeline).toBe(pipeline);
    expect(selected.named.size).toBe(0);
  });

  it('runs only the named jobs; a base name selects every parallel instance; needs on others are dropped', async () => {
    const { pipeline, named } = selectJobs(await compiled(), ['unit', 'deploy'], false);
    expect(shape(pipeline)).toEqual(['unit 1/2 needs=stage', 'unit 2/2 needs=stage', 'deploy needs=unit 1/2,unit 2/2']);
    expect([...named]).toEqual(['unit 1/2', 'unit 2/2', 'deploy']);
  });

  it('--needs adds needs: transitively, and earlier stages for stage-ordered jobs (not manual ones)', async () => {
    const { pipeline } = selectJobs(await compiled(), ['deploy'], true);
    expect(shape(pipeline)).toEqual([
      'build needs=stage',
      'unit 1/2 needs=stage',
      'unit 2/2 needs=stage',
      'deploy needs=unit 1/2,unit 2/2',
    ]);
    const lint = selectJobs(await compiled(), ['lint'], true);
    expect(shape(lint.pipeline)).toEqual(['lint needs=-']);
  });

  it('names the known jobs when a name matches none', async () => {
    const pipeline = await compiled();
    expect(() => selectJobs(pipeline, ['nope'], false)).toThrowError(JobSelectionError);
    expect(() => selectJobs(pipeline, ['nope'], false)).toThrowErrorMatchingInlineSnapshot(
      `[JobSelectionError: no job named "nope" in the pipeline (jobs: build, unit 1/2, unit 2/2, lint, deploy, docs)]`,
    );
  });
});
