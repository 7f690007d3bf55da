import { z } from 'zod';
import { JobUpdateStateSchema } from '../states.js';
import { optionalBoolean, optionalString, TimestampSchema } from './common.js';

// Request and answer bodies of the runner endpoints (api-spec §3, §4, §6). Unknown keys are ignored.

/** §3.7 — every key is always sent by a runner. */
export const RUNNER_FEATURE_KEYS = [
  'variables',
  'image',
  'services',
  'artifacts',
  'cache',
  'fallback_cache_keys',
  'shared',
  'upload_multiple_artifacts',
  'upload_raw_artifacts',
  'session',
  'terminal',
  'refspecs',
  'masking',
  'proxy',
  'raw_variables',
  'artifacts_exclude',
  'multi_build_steps',
  'trace_reset',
  'trace_checksum',
  'trace_size',
  'vault_secrets',
  'cancelable',
  'return_exit_code',
  'service_variables',
  'service_multiple_aliases',
  'image_executor_opts',
  'service_executor_opts',
  'cancel_gracefully',
  'native_steps_integration',
  'two_phase_job_commit',
  'job_inputs',
] as const;
export type RunnerFeatureKey = (typeof RUNNER_FEATURE_KEYS)[number];

export const RunnerFeaturesSchema = z.object(
  Object.fromEntries(RUNNER_FEATURE_KEYS.map((key) => [key, optionalBoolean()])) as {
    [K in RunnerFeatureKey]: ReturnType<typeof optionalBoolean>;
  },
);
export type RunnerFeatures = z.output<typeof RunnerFeaturesSchema>;

/** §3.7 — the `info` object sent with register, verify, job request and job updates. */
export const RunnerInfoBodySchema = z.object({
  name: optionalString(),
  version: optionalString(),
  revision: optionalString(),
  platform: optionalString(),
  architecture: optionalString(),
  executor: optionalString(),
  shell: optionalString(),
  features: RunnerFeaturesSchema.nullish().transform((value) => value ?? RunnerFeaturesSchema.parse({})),
  config: z
    .object({ gpus: optionalString() })
    .nullish()
    .transform((value) => value ?? { gpus: '' }),
  labels: z
    .record(z.string(), z.string())
    .nullish()
    .transform((value) => value ?? {}),
});
export type RunnerInfo = z.output<typeof RunnerInfoBodySchema>;
export type RunnerInfoInput = z.input<typeof RunnerInfoBodySchema>;

export const ACCESS_LEVELS = ['not_protected', 'ref_protected'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** §3.2 — `POST /api/v4/runners` (legacy registration). */
export const RegisterRunnerRequestSchema = z.object({
  token: z.string(),
  description: z.string().optional(),
  maintenance_note: z.string().optional(),
  maintainer_note: z.string().optional(),
  tag_list: z.union([z.string(), z.array(z.string())]).optional(),
  run_untagged: z.boolean().optional(),
  locked: z.boolean().optional(),
  access_level: z.string().optional(),
  maximum_timeout: z.int().optional(),
  paused: z.boolean().optional(),
  active: z.boolean().optional(),
  info: RunnerInfoBodySchema.optional(),
});
export type RegisterRunnerRequest = z.input<typeof RegisterRunnerRequestSchema>;

/** 201 of `POST /api/v4/runners`, 200 of `POST /api/v4/runners/verify`. */
export const RunnerRegistrationResponseSchema = z.object({
  id: z.int(),
  token: z.string(),
  token_expires_at: TimestampSchema.optional().transform((value) => value ?? null),
});
export type RunnerRegistrationResponse = z.output<typeof RunnerRegistrationResponseSchema>;

/** §3.3 — `POST /api/v4/runners/verify`. */
export const VerifyRunnerRequestSchema = z.object({
  token: z.string(),
  system_id: z.string().optional(),
  info: RunnerInfoBodySchema.optional(),
});
export type VerifyRunnerRequest = z.input<typeof VerifyRunnerRequestSchema>;

/** §3.4 / §3.5 — `DELETE /api/v4/runners` and `DELETE /api/v4/runners/managers`. */
export const UnregisterRunnerRequestSchema = z.object({
  token: z.string(),
  system_id: z.string().optional(),
});
export type UnregisterRunnerRequest = z.input<typeof UnregisterRunnerRequestSchema>;

/** §3.6 — 201 of the reset-token calls. */
export const ResetTokenResponseSchema = z.object({
  token: z.string(),
  token_expires_at: TimestampSchema.optional().transform((value) => value ?? null),
});
export type ResetTokenResponse = z.output<typeof ResetTokenResponseSchema>;

/** §4.1 — body of `POST /api/v4/jobs/request`. */
export const JobRequestBodySchema = z.object({
  token: z.string(),
  system_id: z.string().optional(),
  last_update: z.string().optional(),
  info: RunnerInfoBodySchema.optional(),
  session: z
    .object({
      url: z.string().optional(),
      certificate: z.string().optional(),
      authorization: z.string().optional(),
    })
    .optional(),
});
export type JobRequestBody = z.input<typeof JobRequestBodySchema>;

/** §6.1 — `output` of a job update. */
export const JobUpdateOutputSchema = z.object({
  checksum: z.string().optional(),
  bytesize: z.int().nonnegative().optional(),
});

/** §6.1 — body of `PUT /api/v4/jobs/:id`. `failure_reason` is kept as text: unknown values are stored as `unknown_failure`. */
export const JobUpdateBodySchema = z.object({
  info: RunnerInfoBodySchema.optional(),
  token: z.string(),
  state: JobUpdateStateSchema,
  failure_reason: z.string().optional(),
  exit_code: z.int().optional(),
  checksum: z.string().optional(),
  output: JobUpdateOutputSchema.optional(),
  runtime_environment_key: z.string().optional(),
});
export type JobUpdateBody = z.input<typeof JobUpdateBodySchema>;

/** §7.5 — the `output.checksum` format. */
export const TRACE_CHECKSUM_PATTERN = /^crc32:[0-9a-f]{8}$/;

/** §1 — runner manager system ids. */
export const SYSTEM_ID_PATTERN = /^[sr]_[0-9a-zA-Z]{12}$/;

/** §1 — a created-runner token (note `glrtr-` does not match). */
export function isCreatedRunnerToken(token: string): boolean {
  return token.startsWith('glrt-');
}
