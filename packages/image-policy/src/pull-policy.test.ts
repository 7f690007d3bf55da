import { describe, expect, it } from 'vitest';
import fixture from './__fixtures__/pull-policies.json' with { type: 'json' };
import { PullPolicyError } from './errors.js';
import { effectivePullPolicies, formatPolicyList } from './pull-policy.js';

describe('effective pull policies (fixture)', () => {
  it.each(fixture.cases.map((entry, index) => [index, entry] as const))('case %i', (_index, entry) => {
    const run = () =>
      effectivePullPolicies({
        image: 'ruby:3',
        jobPullPolicy: entry.job_pull_policy,
        configPullPolicy: entry.config_pull_policy,
        allowedPullPolicies: entry.config_allowed_pull_policies,
      });
    if ('error' in entry && entry.error !== undefined) {
      expect(run).toThrow(PullPolicyError);
      try {
        run();
      } catch (error) {
        expect((error as PullPolicyError).detail).toBe(entry.error);
        expect((error as PullPolicyError).message).toBe(`invalid pull policy for image "ruby:3": ${entry.error}`);
        expect((error as PullPolicyError).code).toBe('IMAGE_POLICY_PULL_POLICY_NOT_ALLOWED');
        expect((error as PullPolicyError).failureReason).toBe('runner_configuration_error');
      }
    } else {
      expect(run()).toEqual(entry.effective);
    }
  });
});

describe('pull policy decisions', () => {
  it('takes a single string from config.toml', () => {
    expect(effectivePullPolicies({ image: 'x', configPullPolicy: 'if-not-present' })).toEqual(['if-not-present']);
    expect(effectivePullPolicies({ image: 'x', configPullPolicy: '' })).toEqual(['always']);
  });

  it('names the default source when the defaults are not allowed', () => {
    expect(() => effectivePullPolicies({ image: 'x', allowedPullPolicies: ['never'] })).toThrow(
      'invalid pull policy for image "x": pull_policy ([always]) defined in Runner config (default) is not one of the allowed_pull_policies ([never])',
    );
  });

  it('keeps requested order and repeats', () => {
    expect(
      effectivePullPolicies({
        image: 'x',
        jobPullPolicy: ['never', 'always', 'if-not-present', 'always'],
        allowedPullPolicies: ['always', 'if-not-present'],
      }),
    ).toEqual(['always', 'if-not-present', 'always']);
  });

  it('refuses unknown values with GitLab’s text', () => {
    const cases = [
      { configPullPolicy: 'sometimes' },
      { allowedPullPolicies: ['rarely'] },
      { jobPullPolicy: ['Always'] },
    ].map((options) => {
      try {
        effectivePullPolicies({ image: 'x', ...options });
        return 'no error';
      } catch (error) {
        return `${(error as PullPolicyError).code}: ${(error as PullPolicyError).detail}`;
      }
    });
    expect(cases).toEqual([
      'IMAGE_POLICY_UNSUPPORTED_PULL_POLICY: unsupported pull_policy config: "sometimes"',
      'IMAGE_POLICY_UNSUPPORTED_PULL_POLICY: unsupported allowed_pull_policies config: "rarely"',
      'IMAGE_POLICY_UNSUPPORTED_PULL_POLICY: unsupported pull_policy config: "Always"',
    ]);
  });

  it('formats lists as Go prints a slice', () => {
    expect([formatPolicyList([]), formatPolicyList(['always', 'if-not-present'])]).toEqual([
      '[]',
      '[always if-not-present]',
    ]);
  });
});
