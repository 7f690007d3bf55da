// Job and service image definitions as the payload gives them, and image-policy's log lines.
import type { JobLog } from '@runnerkit/job-runtime';
import type { TraceLine } from '@runnerkit/image-policy';

/** Writes an image-policy line to the job log at its level. */
export function logLine(log: JobLog, line: TraceLine): void {
  if (line.level === 'warning') log.warning(line.message);
  else if (line.level === 'error') log.error(line.message);
  else if (line.level === 'info') log.info(line.message);
  else if (line.level !== 'debug') log.println(line.message);
}

/** Reads an image's `image:`/`services:` map fields from the payload (structurally typed there). */
export interface ImageDefinition {
  name: string;
  alias?: string | undefined;
  entrypoint?: string[] | undefined;
  command?: string[] | undefined;
  variables?: { key: string; value: string }[] | undefined;
  pullPolicy?: string[] | undefined;
  user?: string | undefined;
  platform?: string | undefined;
}

export function imageDefinition(raw: Record<string, unknown> | string | null | undefined): ImageDefinition | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'string') return { name: raw };
  const list = (value: unknown): string[] | undefined =>
    Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : undefined;
  const options = (raw.executor_opts as { docker?: { user?: string; platform?: string } | null } | null)?.docker;
  const variables = Array.isArray(raw.variables)
    ? (raw.variables as { key: string; value: string | null }[]).map((v) => ({ key: v.key, value: v.value ?? '' }))
    : undefined;
  return {
    name: typeof raw.name === 'string' ? raw.name : '',
    alias: typeof raw.alias === 'string' ? raw.alias : undefined,
    entrypoint: list(raw.entrypoint),
    command: list(raw.command),
    variables,
    pullPolicy: list(raw.pull_policy),
    user: options?.user ?? undefined,
    platform: options?.platform ?? undefined,
  };
}
