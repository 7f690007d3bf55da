// Mutated job payloads: job-spec's parseJobPayload answers success or InvalidJobPayloadError, never throws.
import { JobSpecError, parseJobPayload } from '@runnerkit/job-spec';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { jobPayloadSeeds } from '../support/fixtures.js';
import { flushFuzzCases, fuzzCase, fuzzParameters, withinTime } from '../support/fuzz.js';
import { jsonMutation, mutateJson } from '../support/mutate.js';

const seeds = jobPayloadSeeds();
afterAll(flushFuzzCases);

describe('job payloads: mutated JSON', () => {
  it('parseJobPayload never throws; failures are InvalidJobPayloadError with paths, and name the job when readable', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(jsonMutation, { minLength: 1, maxLength: 5 }),
        (seed, mutations) => {
          fuzzCase();
          let payload = seeds[seed];
          for (const mutation of mutations) payload = mutateJson(payload, mutation);
          const result = withinTime(2_000, 'parseJobPayload', () => parseJobPayload(payload));
          if (result.success) {
            expect(typeof result.data.id).toBe('number');
            expect(typeof result.data.token).toBe('string');
            return;
          }
          expect(JobSpecError.isInstance(result.error)).toBe(true);
          expect(result.error.code).toBe('JOB_SPEC_INVALID_PAYLOAD');
          expect(result.error.issues.length).toBeGreaterThan(0);
          for (const issue of result.error.issues) expect(typeof issue.path).toBe('string');
          if (result.job !== null) {
            expect(Number.isSafeInteger(result.job.id) && result.job.id > 0).toBe(true);
            expect(result.job.token).not.toBe('');
          }
        },
      ),
      fuzzParameters(500),
    );
  });

  it('non-objects and hostile shapes are refused, not thrown', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({ maxDepth: 3 }),
          fc.nat({ max: 20_000 }).map((depth) => {
            let value: unknown = 1;
            for (let index = 0; index < depth; index += 1) value = { steps: value };
            return value;
          }),
        ),
        (payload) => {
          fuzzCase();
          const result = withinTime(2_000, 'parseJobPayload', () => parseJobPayload(payload));
          if (!result.success) expect(result.error.code).toBe('JOB_SPEC_INVALID_PAYLOAD');
        },
      ),
      fuzzParameters(200),
    );
  });
});
