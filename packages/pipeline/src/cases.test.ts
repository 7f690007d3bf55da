import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildWireJobPayload,
  type CompilePipelineOptions,
  compilePipeline,
  createScheduler,
  type PlannedJob,
} from './index.js';

// One folder per scenario (gitlab-ci-local's habit): `.gitlab-ci.yml`, optional `options.json` (compile options:
// ref, variables, changedFiles, pipeline, project), then `expected.json` (planned jobs, payload parts, scheduler
// runs) or `issues.json` (the errors, with file, line and key path). Other files in the folder are the project.

const CASES = fileURLToPath(new URL('../cases', import.meta.url));

interface Expected {
  stages?: string[];
  name?: string;
  jobs: Record<string, unknown>[];
  payloads?: Record<string, Record<string, unknown>>;
  runs?: {
    results?: Record<string, 'success' | 'failed' | 'canceled'>;
    play?: string[];
    order: string[][];
    skipped?: string[];
    status: string;
  }[];
}

function project(job: PlannedJob): Record<string, unknown> {
  const variables: Record<string, string> = {};
  for (const v of job.variables) variables[v.key] = v.value;
  return {
    name: job.name,
    stage: job.stage,
    when: job.when,
    startIn: job.startIn,
    allowFailure: job.allowFailure,
    allowFailureExitCodes: job.allowFailureExitCodes,
    needs: job.needs?.map((n) => (n.artifacts && !n.optional ? n.name : n)) ?? null,
    dependencies: job.dependencies,
    image: job.image?.name ?? null,
    services: job.services.map((s) => (s.alias ? `${s.name} as ${s.alias}` : s.name)),
    beforeScript: job.beforeScript,
    script: job.script,
    afterScript: job.afterScript,
    variables,
    artifacts: job.artifacts,
    cache: job.cache,
    timeout: job.timeout,
    retry: job.retry,
    tags: job.tags,
    interruptible: job.interruptible,
    hooks: job.hooks,
    parallel: job.parallel,
    environment: job.environment,
  };
}

function pick(source: Record<string, unknown>, shape: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) out[key] = source[key];
  return out;
}

function payloadPart(payload: Record<string, unknown>, shape: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(shape)) {
    if (key === 'variables' && value && !Array.isArray(value)) {
      const map: Record<string, string | null> = {};
      for (const v of payload.variables as { key: string; value: string }[]) map[v.key] = v.value;
      out.variables = Object.fromEntries(Object.keys(value).map((k) => [k, map[k] ?? null]));
    } else out[key] = payload[key];
  }
  return out;
}

const folders = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('scenario folders', () => {
  it('has scenarios', () => {
    expect(folders.length).toBeGreaterThan(9);
  });
  for (const folder of folders) {
    const dir = join(CASES, folder);
    it(folder, async () => {
      const options: CompilePipelineOptions = {
        yaml: readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8'),
        projectDir: dir,
        gitFacts: {
          sha: 'a3f5c9d27b1e4f6a8c0d2e4f6a8b0c2d4e6f8a0b',
          beforeSha: '0000000000000000000000000000000000000000',
          ref: 'main',
          refType: 'branch',
          defaultBranch: 'main',
          message: 'Add feature\n\nLonger description.\n',
          author: 'Dev <dev@example.com>',
          timestamp: '2025-01-02T03:04:05+00:00',
          objectFormat: 'sha1',
        },
        project: { id: 42, path: 'group/project' },
        pipeline: { id: 501, iid: 7 },
        serverUrl: 'https://gitlab.example.com',
        ...(existsSync(join(dir, 'options.json')) ? JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) : {}),
      };
      const result = await compilePipeline(options);
      if (existsSync(join(dir, 'issues.json'))) {
        const expected = JSON.parse(readFileSync(join(dir, 'issues.json'), 'utf8')) as Record<string, unknown>[];
        expect(result.ok, 'compile should fail').toBe(false);
        if (result.ok) return;
        expect(
          result.issues.map((issue, i) => pick(issue as unknown as Record<string, unknown>, expected[i] ?? {})),
        ).toEqual(expected);
        return;
      }
      if (!result.ok) throw result.error;
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      if (expected.stages) expect(result.pipeline.stages).toEqual(expected.stages);
      if (expected.name !== undefined) expect(result.pipeline.name).toBe(expected.name);
      expect(result.pipeline.jobs.map((j) => j.name)).toEqual(expected.jobs.map((j) => j.name));
      result.pipeline.jobs.forEach((job, i) => {
        expect(pick(project(job), expected.jobs[i]!), job.name).toEqual(expected.jobs[i]);
      });
      for (const [name, shape] of Object.entries(expected.payloads ?? {})) {
        const job = result.pipeline.jobs.find((j) => j.name === name)!;
        const payload = buildWireJobPayload(job, {
          jobId: 1001,
          jobToken: 'glcbt-job-token',
          repoUrl: 'https://gitlab-ci-token:glcbt-job-token@gitlab.example.com/group/project.git',
        }) as unknown as Record<string, unknown>;
        expect(payloadPart(payload, shape), name).toEqual(shape);
      }
      for (const run of expected.runs ?? []) {
        const scheduler = createScheduler(result.pipeline);
        const waves: string[][] = [];
        for (let guard = 0; guard < 100; guard++) {
          let ready = scheduler.ready().map((j) => j.name);
          if (ready.length === 0 && run.play) {
            const playable = scheduler
              .jobs()
              .filter((s) => (s.status === 'manual' || s.status === 'scheduled') && run.play?.includes(s.job.name));
            for (const s of playable) scheduler.play(s.job.name);
            ready = scheduler.ready().map((j) => j.name);
          }
          if (ready.length === 0) break;
          waves.push(ready);
          for (const name of ready) scheduler.start(name);
          for (const name of ready) scheduler.finish(name, run.results?.[name] ?? 'success');
        }
        expect(waves).toEqual(run.order);
        if (run.skipped) expect(scheduler.skipped().map((j) => j.name)).toEqual(run.skipped);
        expect(scheduler.status()).toBe(run.status);
      }
    });
  }
});
