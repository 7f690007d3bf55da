import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { JobStatus } from '@runnerkit/job-spec';
import {
  type CallerVariable,
  type CompiledPipeline,
  compilePipeline,
  createScheduler,
  type DependencyJob,
  type GitFacts,
  readGitFacts,
  type Scheduler,
  buildWireJobPayload,
} from '@runnerkit/pipeline';
import { findArtifact } from './artifacts.js';
import type { CoordinatorCore, PipelineDriver } from './core.js';
import { projectPathFor } from './git-http.js';
import { isObject } from './http.js';
import type { JobRecord, PipelineRecord } from './state.js';
import { newJobToken } from './tokens.js';
import { type PipelineView, pipelineView } from './views.js';

const run = promisify(execFile);

interface LivePipeline {
  record: PipelineRecord;
  compiled: CompiledPipeline;
  scheduler: Scheduler;
  /** Planned job name → the coordinator job currently standing for it (a retry gets a new job). */
  jobByName: Map<string, number>;
  projectDir: string | null;
  protectedRef: boolean;
  timer: NodeJS.Timeout | null;
}

/**
 * `POST /-/pipelines` through @runnerkit/pipeline: compile the YAML, create GitLab's jobs, hand them out as
 * the scheduler makes them ready, and feed finished jobs back to it.
 */
export function createPipelineDriver(core: CoordinatorCore): PipelineDriver & { jobFinished(job: JobRecord): void } {
  const live = new Map<number, LivePipeline>();
  const projectIds = new Map<string, number>();

  const projectIdFor = (path: string): number => {
    let id = projectIds.get(path);
    if (id === undefined) projectIds.set(path, (id = projectIds.size + 1));
    return id;
  };

  const syncStatuses = (pipeline: LivePipeline) => {
    for (const state of pipeline.scheduler.jobs()) {
      const jobId = pipeline.jobByName.get(state.job.name);
      const job = jobId === undefined ? undefined : core.store.jobs.get(jobId);
      if (!job) continue;
      // Jobs the scheduler has not handed out follow its words (created, manual, skipped, scheduled, canceled).
      if (job.status === 'created' || job.status === 'manual' || job.status === 'scheduled') {
        if (['skipped', 'manual', 'scheduled', 'canceled'].includes(state.status))
          job.status = state.status as JobStatus;
      }
    }
    let status = pipeline.scheduler.status() as JobStatus;
    // The scheduler counts handed-out jobs as running; GitLab says pending until a runner runs one.
    if (status === 'running') {
      const jobs = pipeline.record.jobIds.map((id) => core.store.jobs.get(id));
      if (!jobs.some((job) => job?.status === 'running' || job?.status === 'canceling')) status = 'pending';
    }
    pipeline.record.status = status;
    core.store.changed();
  };

  const makeJob = (pipeline: LivePipeline, name: string, stage: string): JobRecord => {
    const job = core.addJob(
      { token: newJobToken(), job_info: { name, stage } },
      {
        status: 'created',
        pipelineId: pipeline.record.id,
        meta: { plannedName: name },
      },
    );
    job.projectId = pipeline.record.projectId;
    job.projectPath = pipeline.record.projectPath;
    pipeline.record.jobIds.push(job.id);
    pipeline.jobByName.set(name, job.id);
    return job;
  };

  const advance = (pipeline: LivePipeline) => {
    if (pipeline.timer) clearTimeout(pipeline.timer);
    pipeline.timer = null;
    for (const planned of pipeline.scheduler.ready()) {
      const jobId = pipeline.jobByName.get(planned.name);
      let job = jobId === undefined ? undefined : core.store.jobs.get(jobId);
      if (job?.status !== 'created') job = makeJob(pipeline, planned.name, planned.stage);
      const dependencies: DependencyJob[] = [];
      for (const name of planned.dependencies) {
        const dependencyId = pipeline.jobByName.get(name);
        const dependency = dependencyId === undefined ? undefined : core.store.jobs.get(dependencyId);
        if (!dependency) continue;
        const archive = findArtifact(dependency);
        dependencies.push({
          id: dependency.id,
          name,
          // Newer GitLab sends the running job's own token: it may read its pipeline's artifacts.
          token: job.token,
          ...(archive ? { artifactsFile: { filename: archive.filename, size: archive.size } } : {}),
        });
      }
      const repoUrl = pipeline.projectDir
        ? `${core.url.replace('://', `://gitlab-ci-token:${job.token}@`)}/${pipeline.record.projectPath}.git`
        : null;
      job.payload = buildWireJobPayload(planned, {
        jobId: job.id,
        jobToken: job.token,
        pipelineId: pipeline.record.id,
        projectId: pipeline.record.projectId,
        projectPath: pipeline.record.projectPath,
        repoUrl,
        serverUrl: core.url,
        dependencies,
        protectedRef: pipeline.protectedRef,
      }) as Record<string, unknown>;
      job.tags = [...planned.tags];
      job.protectedRef = pipeline.protectedRef;
      pipeline.scheduler.start(planned.name);
      core.setStatus(job, 'pending');
    }
    syncStatuses(pipeline);
    const wakeUp = pipeline.scheduler.nextWakeUp();
    if (wakeUp !== undefined) {
      pipeline.timer = setTimeout(() => advance(pipeline), Math.max(0, wakeUp - core.clock()));
      pipeline.timer.unref();
    }
  };

  const view = (pipeline: LivePipeline): PipelineView =>
    pipelineView(
      pipeline.record,
      pipeline.record.jobIds.map((id) => core.store.jobs.get(id)).filter((job) => job !== undefined),
    );

  return {
    async create(body) {
      if (typeof body.yaml !== 'string') return { error: 'yaml is missing' };
      const projectDir =
        typeof body.project_dir === 'string' && body.project_dir !== '' ? resolve(body.project_dir) : null;
      const ref = typeof body.ref === 'string' && body.ref !== '' ? body.ref : undefined;
      const variables = Array.isArray(body.variables)
        ? (body.variables as CallerVariable[])
        : isObject(body.variables)
          ? Object.fromEntries(Object.entries(body.variables).map(([key, value]) => [key, String(value)]))
          : undefined;
      let gitFacts: GitFacts | undefined;
      if (projectDir) {
        try {
          gitFacts = await readGitFacts(projectDir, ref === undefined ? {} : { ref });
        } catch (error) {
          return { error: `project_dir is not a git checkout: ${(error as Error).message}` };
        }
      }
      const projectPath = projectDir ? projectPathFor(projectDir) : 'local/project';
      const projectId = projectIdFor(projectPath);
      const id = core.store.nextPipelineId++;
      const compiled = await compilePipeline({
        yaml: body.yaml,
        ...(typeof body.file_name === 'string' ? { fileName: body.file_name } : {}),
        ...(projectDir ? { projectDir } : {}),
        ...(variables ? { variables } : {}),
        ...(ref !== undefined ? { ref } : {}),
        ...(gitFacts ? { gitFacts } : {}),
        project: { id: projectId, path: projectPath },
        pipeline: { id, iid: id, source: 'api', createdAt: core.now() },
        serverUrl: core.url,
      });
      if (!compiled.ok) {
        return {
          error: compiled.error.message,
          code: 'COORDINATOR_PIPELINE_FAILED',
          issues: compiled.issues,
        } as unknown as { error: string };
      }
      if (projectDir && gitFacts) {
        core.projects.set(projectPath, projectDir);
        // GitLab keeps a persistent ref per pipeline, which the payload's first refspec fetches.
        await run('git', ['update-ref', `refs/pipelines/${id}`, gitFacts.sha], {
          cwd: projectDir,
          env: { PATH: core.options.gitPath },
        });
      }
      const record: PipelineRecord = {
        id,
        status: 'created',
        projectId,
        projectPath,
        ref: compiled.pipeline.facts.git.ref,
        sha: compiled.pipeline.facts.git.sha,
        jobIds: [],
        createdAt: core.now(),
        meta: {},
      };
      core.store.pipelines.set(id, record);
      const pipeline: LivePipeline = {
        record,
        compiled: compiled.pipeline,
        scheduler: createScheduler(compiled.pipeline, { now: core.clock }),
        jobByName: new Map(),
        projectDir,
        protectedRef: body.protected === true,
        timer: null,
      };
      live.set(id, pipeline);
      for (const planned of compiled.pipeline.jobs) makeJob(pipeline, planned.name, planned.stage);
      advance(pipeline);
      return view(pipeline);
    },

    jobFinished(job) {
      if (job.pipelineId === null) return;
      const pipeline = live.get(job.pipelineId);
      const name = job.meta.plannedName;
      if (!pipeline || typeof name !== 'string' || pipeline.jobByName.get(name) !== job.id) return;
      const state = pipeline.scheduler.jobs().find((entry) => entry.job.name === name);
      if (state?.status !== 'running') {
        syncStatuses(pipeline);
        return;
      }
      const result = job.status === 'success' ? 'success' : job.status === 'canceled' ? 'canceled' : 'failed';
      pipeline.scheduler.finish(name, result, {
        ...(job.exitCode !== null ? { exitCode: job.exitCode } : {}),
        ...(job.failureReason !== null ? { failureReason: job.failureReason } : {}),
      });
      // A retried job is pending again in the scheduler: GitLab creates a new job for it.
      const again = pipeline.scheduler.jobs().find((entry) => entry.job.name === name);
      if (again?.status === 'pending') makeJob(pipeline, name, again.job.stage);
      advance(pipeline);
    },
  };
}
