import { describe, expect, it } from 'vitest';
import bashScripts from '../__fixtures__/bash-scripts.json' with { type: 'json' };
import shellEscape from '../__fixtures__/shell-escape.json' with { type: 'json' };
import { JobVariables } from '../variables/variables.js';
import { quoteAnsiC, quotePosix } from './quote.js';
import { afterScript, prepareScript, stepScript } from './stages.js';

describe('quoting matches GitLab Runner (fixtures/executor/shell-escape.json)', () => {
  for (const testCase of shellEscape.cases) {
    it(`quotes ${JSON.stringify(testCase.in)}`, () => {
      expect(quoteAnsiC(testCase.in)).toBe(testCase.ansi_c);
      // `\f` alone: GitLab leaves it bare; so do we (only tab/newline force quoting beyond GitLab's set).
      expect(quotePosix(testCase.in)).toBe(testCase.posix);
    });
  }
});

describe('bash scripts match GitLab Runner (fixtures/executor/bash-scripts.json)', () => {
  for (const testCase of bashScripts.cases) {
    it(testCase.name, () => {
      const variables = new JobVariables(testCase.variables ?? [], testCase.tmp_dir);
      const job = {
        variables,
        directories: { projectDir: testCase.project_dir ?? '', tmpDir: testCase.tmp_dir },
        style: { shell: 'bash' as const, debugTrace: testCase.debug_trace ?? false },
      };
      const script =
        testCase.stage === 'prepare_script'
          ? prepareScript(job, testCase.runner_hostname)
          : testCase.stage === 'after_script'
            ? afterScript(job, testCase.commands ?? [])
            : stepScript(job, testCase.commands ?? [], {
                preBuildScript: testCase.pre_build_script,
                postBuildScript: testCase.post_build_script,
              });
      expect(script).toBe(testCase.expected_script);
    });
  }
});
