import { z } from 'zod';

/** Job statuses as GitLab names them (the words the admin API and `Job-Status` headers use). */
export const JOB_STATUSES = [
  'created',
  'waiting_for_resource',
  'preparing',
  'pending',
  'running',
  'success',
  'failed',
  'canceling',
  'canceled',
  'skipped',
  'manual',
  'scheduled',
] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** `state` values a runner sends in `PUT /api/v4/jobs/:id` (`pending` is a two-phase keep-alive). */
export const JOB_UPDATE_STATES = ['pending', 'running', 'success', 'failed'] as const;
export const JobUpdateStateSchema = z.enum(JOB_UPDATE_STATES);
export type JobUpdateState = z.infer<typeof JobUpdateStateSchema>;

/** Statuses after which a job never changes again. */
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['success', 'failed', 'canceled', 'skipped'];

export function isFinishedJobStatus(status: JobStatus): boolean {
  return FINISHED_JOB_STATUSES.includes(status);
}
