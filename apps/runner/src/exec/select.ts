// Which planned jobs `runnerkit exec [JOB…] [--needs]` runs.
import type { CompiledPipeline, PlannedJob } from '@runnerkit/pipeline';

export class JobSelectionError extends Error {
  override readonly name = 'JobSelectionError';
  readonly code = 'RUNNER_EXEC_UNKNOWN_JOB';
}

/**
 * No names: every job (manual ones stay manual). Names: only those jobs (a base name selects all its parallel
 * instances); with `needs`, also everything they need, transitively — their `needs:`, or every non-manual job of
 * earlier stages for a job that follows stage order. Needs and dependencies on jobs left out are dropped.
 */
export function selectJobs(
  pipeline: CompiledPipeline,
  names: readonly string[],
  withNeeds: boolean,
): { pipeline: CompiledPipeline; named: Set<string> } {
  if (names.length === 0) return { pipeline, named: new Set() };
  const byName = new Map(pipeline.jobs.map((job) => [job.name, job]));
  const named = new Set<string>();
  for (const name of names) {
    const matches = pipeline.jobs.filter((job) => job.name === name || job.baseName === name);
    if (matches.length === 0) {
      const known = pipeline.jobs.map((job) => job.name).join(', ');
      throw new JobSelectionError(`no job named "${name}" in the pipeline (jobs: ${known})`);
    }
    for (const job of matches) named.add(job.name);
  }
  const selected = new Set(named);
  if (withNeeds) {
    const queue = [...named];
    while (queue.length > 0) {
      const job = byName.get(queue.pop()!);
      if (!job) continue;
      const required =
        job.needs === null
          ? pipeline.jobs.filter((other) => other.stageIndex < job.stageIndex && other.when !== 'manual')
          : job.needs.map((need) => byName.get(need.name)).filter((other): other is PlannedJob => other !== undefined);
      for (const other of required) {
        if (selected.has(other.name)) continue;
        selected.add(other.name);
        queue.push(other.name);
      }
    }
  }
  const jobs = pipeline.jobs
    .filter((job) => selected.has(job.name))
    .map((job) => ({
      ...job,
      needs: job.needs === null ? null : job.needs.filter((need) => selected.has(need.name)),
      dependencies: job.dependencies.filter((name) => selected.has(name)),
    }));
  return { pipeline: { ...pipeline, jobs }, named };
}
