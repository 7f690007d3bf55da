import { describe, expect, it } from 'vitest';
import expansion from '../__fixtures__/variable-expansion.json' with { type: 'json' };
import { FEATURE_FLAG_DEFAULTS, resolveFeatureFlags } from './feature-flags.js';
import { JobVariables } from './variables.js';

describe('runner-side expansion (fixtures/executor/variable-expansion.json)', () => {
  const variables = new JobVariables(expansion.variables, expansion.RUNNER_TEMP_PROJECT_DIR);
  for (const testCase of expansion.cases) {
    it(`${testCase.in} → ${JSON.stringify(testCase.out)}`, () => {
      expect(variables.expand(testCase.in)).toBe(testCase.out);
    });
  }

  it('expands each value once against the unexpanded list and leaves raw values alone', () => {
    const list = new JobVariables(
      [
        { key: 'A', value: 'alpha' },
        { key: 'B', value: '$A-x' },
        { key: 'C', value: '$B' },
        { key: 'R', value: '$A', raw: true },
      ],
      '/tmp/p.tmp',
    ).expanded();
    expect(list.list.map((variable) => `${variable.key}=${variable.value}`)).toEqual([
      'A=alpha',
      'B=alpha-x',
      'C=$A-x',
      'R=$A',
    ]);
  });

  it('hands masked values (trimmed, non-empty, once) to the trace', () => {
    const list = new JobVariables(
      [
        { key: 'S', value: ' secret ', masked: true },
        { key: 'T', value: 'secret', masked: true },
        { key: 'E', value: '  ', masked: true },
        { key: 'P', value: 'public' },
      ],
      '/t',
    );
    expect(list.maskedValues()).toEqual(['secret']);
  });
});

describe('feature flags', () => {
  it('config wins, then the last variable, then the default; bad values warn', () => {
    const warnings: string[] = [];
    const values: Record<string, string> = {
      FF_TIMESTAMPS: 'false',
      FF_NETWORK_PER_BUILD: 'maybe',
      FF_USE_FASTZIP: '0',
    };
    const flags = resolveFeatureFlags({ FF_USE_FASTZIP: true }, (key) => values[key], warnings);
    expect(flags.FF_TIMESTAMPS).toBe(false);
    expect(flags.FF_USE_FASTZIP).toBe(true);
    expect(flags.FF_NETWORK_PER_BUILD).toBe(false);
    expect(Object.keys(flags).sort()).toEqual(Object.keys(FEATURE_FLAG_DEFAULTS).sort());
    expect(warnings).toEqual(['FF_NETWORK_PER_BUILD: expected bool got "maybe", using default value: false']);
  });
});
