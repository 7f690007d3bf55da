import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
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
  PipelineError,
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
  const gitEnv = { PATH: core.options.gitPath, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  let repositoriesRoot: Promise<string> | null = null;

  /**
   * A bare mirror of the checkout for one pipeline, holding `refs/pipelines/<id>` as GitLab's persistent pipeline
   * ref: the user's checkout is only read (a local clone hard-links or copies its objects), never written.
   */
  const createMirror = async (pipelineId: number, projectDir: string, sha: string): Promise<string> => {
    repositoriesRoot ??= mkdtemp(join(core.options.temporaryDirectory, 'runnerkit-coordinator-repos-'));
    const directory = join(await repositoriesRoot, String(pipelineId), `${basename(projectDir)}.git`);
    try {
      await run('git', ['clone', '--mirror', '--quiet', '--', projectDir, directory], { env: gitEnv });
      await run('git', ['--git-dir', directory, 'update-ref', `refs/pipelines/${pipelineId}`, sha], { env: gitEnv });
    } catch (error) {
      await rm(join(directory, '..'), { recursive: true, force: true });
      throw error;
    }
    return directory;
  };

  const releaseMirror = async (pipelineId: number) => {
    const repository = core.pipelineRepositories.get(pipelineId);
    if (!repository) return;
    core.pipelineRepositories.delete(pipelineId);
    await rm(join(repository.directory, '..'), { recursive: true, force: true });
  };

  /** A finished pipeline with nothing left to play no longer needs its mirror. */
  const releaseWhenDone = (pipeline: LivePipeline) => {
    const open = pipeline.scheduler
      .jobs()
      .some((state) => !['success', 'failed', 'canceled', 'skipped'].includes(state.status));
    if (!open) void releaseMirror(pipeline.record.id);
  };

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
      // A played manual job or a delayed job that is due keeps its job; a retry gets a new one.
      if (job?.status !== 'created' && job?.status !== 'manual' && job?.status !== 'scheduled') {
        job = makeJob(pipeline, planned.name, planned.stage);
      }
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
        protectedRef: body.protected === true,
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
        // GitLab keeps a persistent ref per pipeline, which the payload's first refspec fetches: it lives in a
        // temporary mirror made for this pipeline, never in the user's checkout.
        try {
          const directory = await createMirror(id, projectDir, gitFacts.sha);
          core.pipelineRepositories.set(id, { projectPath, directory });
        } catch (error) {
          return { error: `project_dir could not be mirrored: ${(error as Error).message}` };
        }
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

    play(jobId) {
      const job = core.store.jobs.get(jobId);
      if (!job) return { error: `no job ${jobId}`, status: 404 };
      const pipeline = job.pipelineId === null ? undefined : live.get(job.pipelineId);
      const name = job.meta.plannedName;
      if (!pipeline || typeof name !== 'string' || pipeline.jobByName.get(name) !== job.id) {
        return { error: `job ${jobId} is not a job of a running pipeline: it cannot be played`, status: 400 };
      }
      try {
        pipeline.scheduler.play(name);
      } catch (error) {
        if (PipelineError.isInstance(error) && error.code === 'PIPELINE_SCHEDULER_STATE') {
          return { error: error.message, status: 400 };
        }
        throw error;
      }
      advance(pipeline);
      return { ok: true };
    },

    async close() {
      for (const pipeline of live.values()) if (pipeline.timer) clearTimeout(pipeline.timer);
      core.pipelineRepositories.clear();
      const root = repositoriesRoot;
      repositoriesRoot = null;
      const path = root ? await root.catch(() => undefined) : undefined;
      if (path) await rm(path, { recursive: true, force: true });
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
      releaseWhenDone(pipeline);
    },
  };
}
