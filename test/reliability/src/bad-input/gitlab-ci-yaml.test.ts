// Mutated .gitlab-ci.yml files: compilePipeline resolves with a pipeline or a list of issues (PipelineConfigError),
// never rejects with anything else, never reads outside the project, never hangs.
import { compilePipeline, PIPELINE_ISSUE_CODES, PipelineError } from '@runnerkit/pipeline';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineSeeds } from '../support/fixtures.js';
import { flushFuzzCases, fuzzCase, fuzzParameters } from '../support/fuzz.js';
import { mutateText, textMutation } from '../support/mutate.js';

const seeds = pipelineSeeds();
const SNIPPETS = [
  'extends: .base',
  '.base: &base\n  script: [echo]',
  '<<: *base',
  '*undefined_alias',
  'include: {local: "../../etc/passwd"}',
  'include: {local: "/etc/passwd"}',
  'include: "*.yml"',
  'needs: [missing]',
  'parallel: 9999',
  'parallel: {matrix: [{A: [1, 2]}]}',
  "rules:\n    - if: '$A =~ /(a+)+$/'",
  'rules: [{if: "$A == (("}]',
  'when: sometimes',
  'stage: nowhere',
  'script: []',
  'script: {a: 1}',
  'variables: {A: {value: [1]}}',
  'trigger: x',
  '!reference [.base, script]',
  '- ',
  ': ',
  '"',
  '\t',
  '---',
  '%YAML 1.1',
  '&anchor',
  '*anchor',
  'self: *job',
];

/** Files the fuzzer's include:local may reach; anything else is outside the project. */
const PROJECT: Record<string, string> = {
  'ci/base.yml': '.base:\n  script: [echo base]\n',
  'README.md': 'readme\n',
};

afterAll(flushFuzzCases);

describe('.gitlab-ci.yml: mutated files', () => {
  it('compile to a pipeline or to coded issues, nothing else', async () => {
    const reads: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(textMutation(SNIPPETS), { minLength: 1, maxLength: 6 }),
        async (seed, mutations) => {
          fuzzCase();
          const yaml = mutateText(seeds[seed] ?? '', mutations, ':');
          let result: Awaited<ReturnType<typeof compilePipeline>>;
          try {
            result = await compilePipeline({
              yaml,
              readFile: async (path) => {
                reads.push(path);
                const content = PROJECT[path];
                if (content === undefined) throw new Error(`no such file: ${path}`);
                return content;
              },
              listFiles: async () => Object.keys(PROJECT),
            });
          } catch (error) {
            throw new Error(
              `compilePipeline rejected instead of answering issues: ${String(error)}\n--- yaml\n${yaml}`,
            );
          }
          if (result.ok) {
            for (const job of result.pipeline.jobs) expect(typeof job.name).toBe('string');
            return;
          }
          expect(PipelineError.isInstance(result.error)).toBe(true);
          expect(result.error.code).toBe('PIPELINE_CONFIG_INVALID');
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) expect(PIPELINE_ISSUE_CODES).toContain(issue.code);
        },
      ),
      fuzzParameters(300, 3_000),
    );
    for (const path of reads) expect(path.startsWith('/') || path.split('/').includes('..')).toBe(false);
  });

  it('billion laughs, deep nesting and huge documents are answered quickly', async () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 10; level += 1) {
      laughs.push(
        `${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + level)}`)
          .join(',')}]`,
      );
    }
    const documents = [
      `${laughs.join('\n')}\njob:\n  script: [echo]\n`,
      `job:\n  script: [echo]\n  variables: ${'{a: '.repeat(2_000)}1${'}'.repeat(2_000)}\n`,
      `${Array.from({ length: 1_000 }, (_, index) => `job${index}:\n  script: [echo ${index}]\n  needs: [job${Math.max(index - 1, 0)}]`).join('\n')}\n`,
      'a: &a\n  b: *a\n',
      'job: &job\n  script: [echo]\n  variables:\n    self: *job\n',
    ];
    for (const yaml of documents) {
      fuzzCase();
      const started = performance.now();
      const result = await compilePipeline({ yaml, readFile: async () => '', listFiles: async () => [] });
      expect(performance.now() - started, yaml.slice(0, 200)).toBeLessThan(10_000);
      if (!result.ok) expect(result.error.code).toBe('PIPELINE_CONFIG_INVALID');
    }
    // a recursive anchor used to overflow the stack in normalize (fixed in pipeline's parse-yaml.ts)
    const recursive = await compilePipeline({ yaml: 'job: &job\n  script: [echo]\n  variables:\n    self: *job\n' });
    expect(recursive.ok ? [] : recursive.issues.map((issue) => issue.code)).toEqual(['PIPELINE_YAML_SYNTAX']);
  });
});
