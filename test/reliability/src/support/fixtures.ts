// Seeds for the fuzzers: the shared spec fixtures and the pipeline package's scenario folders.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '@runnerkit/testkit';

export const SPEC_FIXTURES = join(repositoryRoot(), '..', 'shared', 'spec', 'fixtures');

export function configSeeds(): string[] {
  return ['valid', 'invalid'].flatMap((directory) => {
    const dir = join(SPEC_FIXTURES, 'config', directory);
    return readdirSync(dir)
      .filter((name) => name.endsWith('.toml'))
      .sort()
      .map((name) => readFileSync(join(dir, name), 'utf8'));
  });
}

export function jobPayloadSeeds(): unknown[] {
  return ['job-minimal.json', 'job-rich.json', 'job-sparse.json', 'job-run-steps.json'].map(
    (name) => JSON.parse(readFileSync(join(SPEC_FIXTURES, 'api', name), 'utf8')) as unknown,
  );
}

export function pipelineSeeds(): string[] {
  const cases = join(repositoryRoot(), 'packages', 'pipeline', 'cases');
  const seeds = existsSync(cases)
    ? readdirSync(cases)
        .sort()
        .map((name) => join(cases, name, '.gitlab-ci.yml'))
        .filter((file) => existsSync(file))
        .map((file) => readFileSync(file, 'utf8'))
    : [];
  seeds.push(
    'stages: [build, test]\nvariables:\n  A: "1"\nbuild:\n  stage: build\n  script: [echo $A]\n  artifacts:\n    paths: [out/]\ntest:\n  stage: test\n  needs: [build]\n  script: [echo ok]\n  rules:\n    - if: $A == "1"\n',
  );
  return seeds;
}
