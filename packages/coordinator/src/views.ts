import type { JobStatus } from '@runnerkit/job-spec';
import type { ArtifactRecord, JobRecord, PipelineRecord, RunnerRecord } from './state.js';

/** A job as the admin API shows it (`GET /-/jobs/:id`). */
export interface JobView {
  id: number;
  name: string;
  stage: string;
  status: JobStatus;
  failure_reason: string | null;
  exit_code: number | null;
  pipeline_id: number | null;
  runner_id: number | null;
  trace: string;
  artifacts: ArtifactView[];
}

export interface ArtifactView {
  artifact_type: string;
  artifact_format: string;
  filename: string;
  size: number;
  expire_in: string | null;
}

export interface PipelineView {
  id: number;
  status: JobStatus;
  jobs: { id: number; name: string; stage: string; status: JobStatus }[];
}

export interface RunnerView {
  id: number;
  token: string;
  token_expires_at: string | null;
  runner_type: string;
  description: string;
  paused: boolean;
  tag_list: string[];
  run_untagged: boolean;
  locked: boolean;
  access_level: string;
  maximum_timeout: number | null;
  contacted_at: string | null;
  managers: {
    system_id: string;
    name: string;
    version: string;
    executor: string;
    contacted_at: string;
    features: Record<string, boolean | undefined>;
  }[];
}

export function artifactView(artifact: ArtifactRecord): ArtifactView {
  return {
    artifact_type: artifact.artifactType,
    artifact_format: artifact.artifactFormat,
    filename: artifact.filename,
    size: artifact.size,
    expire_in: artifact.expireIn,
  };
}

export function jobView(job: JobRecord, trace: Buffer): JobView {
  return {
    id: job.id,
    name: job.name,
    stage: job.stage,
    status: job.status,
    failure_reason: job.failureReason,
    exit_code: job.exitCode,
    pipeline_id: job.pipelineId,
    runner_id: job.runnerId,
    trace: trace.toString('utf8'),
    artifacts: job.artifacts.map(artifactView),
  };
}

export function pipelineView(pipeline: PipelineRecord, jobs: readonly JobRecord[]): PipelineView {
  return {
    id: pipeline.id,
    status: pipeline.status,
    jobs: jobs.map((job) => ({ id: job.id, name: job.name, stage: job.stage, status: job.status })),
  };
}

export function runnerView(runner: RunnerRecord): RunnerView {
  return {
    id: runner.id,
    token: runner.token,
    token_expires_at: runner.tokenExpiresAt,
    runner_type: runner.runnerType,
    description: runner.description,
    paused: runner.paused,
    tag_list: runner.tags,
    run_untagged: runner.runUntagged,
    locked: runner.locked,
    access_level: runner.accessLevel,
    maximum_timeout: runner.maximumTimeout,
    contacted_at: runner.contactedAt,
    managers: Object.values(runner.managers).map((manager) => ({
      system_id: manager.systemId,
      name: manager.name,
      version: manager.version,
      executor: manager.executor,
      contacted_at: manager.contactedAt,
      features: manager.features,
    })),
  };
}
