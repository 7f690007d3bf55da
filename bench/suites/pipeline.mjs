// pipeline: compiling a large .gitlab-ci.yml (extends, default, !reference, rules, parallel:matrix, needs) into
// planned jobs and every job's payload, against the floor of merely parsing the same YAML with the `yaml` package.
// Run: node bench/suites/pipeline.mjs [--quick]   (needs `pnpm --filter @runnerkit/pipeline build`)
import { parse } from '../../packages/pipeline/node_modules/yaml/dist/index.js';
import { buildWireJobPayload, compilePipeline, createScheduler } from '../../packages/pipeline/dist/index.js';
import { compare, quick, record } from '../lib/ab.mjs';

const JOBS = quick ? 100 : 400;

function bigConfig(count) {
  const lines = [
    'stages: [build, test, deploy]',
    'default:',
    '  image: ruby:3.3',
    '  retry: 1',
    'variables:',
    '  GLOBAL: value',
    '.base:',
    '  before_script: [echo base]',
    '  rules:',
    '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_BRANCH =~ /^release/',
    '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
    '      when: manual',
    '.setup:',
    '  script: [echo setup]',
  ];
  for (let i = 0; i < count; i++) {
    const stage = ['build', 'test', 'deploy'][i % 3];
    lines.push(`job-${i}:`, '  extends: .base', `  stage: ${stage}`, '  variables:', `    INDEX: "${i}"`);
    lines.push('  script:', '    - !reference [.setup, script]', `    - echo job ${i}`);
    if (stage !== 'build') lines.push(`  needs: [job-${i - (i % 3)}]`);
    if (i % 20 === 0)
      lines.push('  parallel:', '    matrix:', '      - OS: [linux, mac]', '        ARCH: [amd64, arm64]');
    lines.push('  artifacts:', '    paths: [out/]', '  cache:', '    key: k', '    paths: [vendor/]');
  }
  return `${lines.join('\n')}\n`;
}

const yaml = bigConfig(JOBS);
const compileAll = async () => {
  const result = await compilePipeline({ yaml });
  if (!result.ok) throw result.error;
  for (const [i, job] of result.pipeline.jobs.entries()) buildWireJobPayload(job, { jobId: i + 1, jobToken: 't' });
  return result.pipeline;
};
const pipeline = await compileAll();

await compare({
  name: `pipeline: compile + ${pipeline.jobs.length} payloads vs yaml.parse (${JOBS} YAML jobs)`,
  candidate: { name: 'compilePipeline + buildWireJobPayload', run: compileAll },
  baseline: {
    name: 'yaml.parse',
    run: async () =>
      parse(yaml, {
        merge: true,
        customTags: [{ tag: '!reference', collection: 'seq', default: false, resolve: (v) => v }],
      }),
  },
});

// Scheduler throughput: drive the whole pipeline to completion.
const start = process.hrtime.bigint();
const rounds = quick ? 5 : 20;
for (let r = 0; r < rounds; r++) {
  const scheduler = createScheduler(pipeline);
  for (let ready = scheduler.ready(); ready.length > 0; ready = scheduler.ready()) {
    for (const job of ready) scheduler.start(job.name);
    for (const job of ready) scheduler.finish(job.name, 'success');
  }
}
const ms = Number(process.hrtime.bigint() - start) / 1e6 / rounds;
record({
  name: 'pipeline: scheduler drives a whole pipeline',
  value: ms,
  unit: 'ms',
  note: `${ms.toFixed(1)} ms per run of ${pipeline.jobs.length} jobs`,
});
