import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStatus, RunnerFeatures } from '@runnerkit/job-spec';
import { CoordinatorError } from './errors.js';
import { newQueueValue } from './tokens.js';

export type RunnerType = 'instance_type' | 'group_type' | 'project_type';
export type AccessLevel = 'not_protected' | 'ref_protected';

/** One machine using a runner's token (identified by `system_id`; `<legacy>` when none is sent). */
export interface RunnerManagerRecord {
  systemId: string;
  name: string;
  version: string;
  revision: string;
  platform: string;
  architecture: string;
  executor: string;
  features: Partial<RunnerFeatures>;
  contactedAt: string;
}

export interface RunnerRecord {
  id: number;
  token: string;
  /** `created` (glrt-, made like GitLab's UI) or `registered` (legacy registration, glrtr-). */
  tokenKind: 'created' | 'registered';
  tokenExpiresAt: string | null;
  runnerType: RunnerType;
  description: string;
  maintenanceNote: string;
  paused: boolean;
  tags: string[];
  runUntagged: boolean;
  locked: boolean;
  accessLevel: AccessLevel;
  maximumTimeout: number | null;
  contactedAt: string | null;
  queueValue: string;
  managers: Record<string, RunnerManagerRecord>;
}

export interface ArtifactRecord {
  artifactType: string;
  artifactFormat: string;
  expireIn: string | null;
  filename: string;
  size: number;
  sha256: string;
  /** File name under the artifacts directory. */
  file: string;
}

export interface JobRecord {
  id: number;
  token: string;
  name: string;
  stage: string;
  status: JobStatus;
  failureReason: string | null;
  exitCode: number | null;
  /** The wire payload (JSON object) handed to the runner verbatim. */
  payload: Record<string, unknown>;
  projectId: number;
  projectPath: string;
  tags: string[];
  protectedRef: boolean;
  pipelineId: number | null;
  runnerId: number | null;
  runnerManager: string | null;
  /** Set when the runner acknowledged the job (two-phase commit) or did not need to. */
  acknowledged: boolean;
  /** The runner manager advertised `cancel_gracefully` when it took the job. */
  cancelGracefully: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /** Start of the first final update answered 202 (ms since epoch), for GitLab's back-off. */
  finalUpdateSince: number | null;
  artifacts: ArtifactRecord[];
  /** Free-form facts the pipeline layer keeps (planned job, dependencies). */
  meta: Record<string, unknown>;
}

export interface PipelineRecord {
  id: number;
  status: JobStatus;
  projectId: number;
  projectPath: string;
  ref: string;
  sha: string;
  jobIds: number[];
  createdAt: string;
  /** What the pipeline layer needs to keep scheduling (serialisable). */
  meta: Record<string, unknown>;
}

interface PersistedState {
  version: 1;
  nextRunnerId: number;
  nextJobId: number;
  nextPipelineId: number;
  runners: RunnerRecord[];
  jobs: JobRecord[];
  pipelines: PipelineRecord[];
}

/** A job's trace: bytes in memory, mirrored to a file when a data directory is used. */
export class TraceBuffer {
  private chunks: Buffer[] = [];
  private total = 0;

  constructor(private readonly file: string | null) {
    if (file) {
      try {
        const data = readFileSync(file);
        if (data.length > 0) this.chunks.push(data);
        this.total = data.length;
      } catch {
        // no trace yet
      }
    }
  }

  get size(): number {
    return this.total;
  }

  append(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.total += data.length;
    if (this.file) appendFileSync(this.file, data);
  }

  read(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.total)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Forgets everything after `size` bytes (fault injection: "lost the last chunk"). */
  truncate(size: number): void {
    const data = this.read().subarray(0, Math.max(0, Math.min(size, this.total)));
    this.chunks = data.length > 0 ? [Buffer.from(data)] : [];
    this.total = data.length;
    if (this.file) writeFileSync(this.file, data);
  }
}

/** All state of the fake: runners, jobs, pipelines, traces; optionally persisted under a data directory. */
export class Store {
  nextRunnerId = 1;
  nextJobId = 1;
  nextPipelineId = 1;
  readonly runners = new Map<number, RunnerRecord>();
  readonly jobs = new Map<number, JobRecord>();
  readonly pipelines = new Map<number, PipelineRecord>();
  private readonly traces = new Map<number, TraceBuffer>();
  private saveTimer: NodeJS.Timeout | null = null;

  constructor(readonly dataDir: string | null) {
    if (!dataDir) return;
    mkdirSync(join(dataDir, 'traces'), { recursive: true });
    mkdirSync(join(dataDir, 'artifacts'), { recursive: true });
    let text: string | undefined;
    try {
      text = readFileSync(join(dataDir, 'state.json'), 'utf8');
    } catch {
      return;
    }
    try {
      const state = JSON.parse(text) as PersistedState;
      this.nextRunnerId = state.nextRunnerId;
      this.nextJobId = state.nextJobId;
      this.nextPipelineId = state.nextPipelineId;
      for (const runner of state.runners) this.runners.set(runner.id, runner);
      for (const job of state.jobs) this.jobs.set(job.id, job);
      for (const pipeline of state.pipelines) this.pipelines.set(pipeline.id, pipeline);
    } catch (error) {
      throw new CoordinatorError(
        'COORDINATOR_STATE_UNREADABLE',
        `cannot read ${join(dataDir, 'state.json')}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  trace(jobId: number): TraceBuffer {
    let trace = this.traces.get(jobId);
    if (!trace) {
      trace = new TraceBuffer(this.dataDir ? join(this.dataDir, 'traces', `${jobId}.log`) : null);
      this.traces.set(jobId, trace);
    }
    return trace;
  }

  /** A new queue value for every runner: the set of jobs they could pick may have changed. */
  tickQueues(): void {
    for (const runner of this.runners.values()) runner.queueValue = newQueueValue();
  }

  findRunnerByToken(token: string): RunnerRecord | undefined {
    if (!token) return undefined;
    for (const runner of this.runners.values()) if (runner.token === token) return runner;
    return undefined;
  }

  findJobByToken(token: string): JobRecord | undefined {
    if (!token) return undefined;
    for (const job of this.jobs.values()) if (job.token === token) return job;
    return undefined;
  }

  /** Schedules a write of state.json (coalesced); a no-op without a data directory. */
  changed(): void {
    if (!this.dataDir || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.save();
    }, 20);
    this.saveTimer.unref();
  }

  save(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    if (!this.dataDir) return;
    const state: PersistedState = {
      version: 1,
      nextRunnerId: this.nextRunnerId,
      nextJobId: this.nextJobId,
      nextPipelineId: this.nextPipelineId,
      runners: [...this.runners.values()],
      jobs: [...this.jobs.values()],
      pipelines: [...this.pipelines.values()],
    };
    const file = join(this.dataDir, 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  }
}
