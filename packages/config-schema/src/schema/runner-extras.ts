import { isRegex } from '../values/formats.js';
import { cronPeriods, timeZone } from './machine.js';
import { bool, duration, fields, formatted, table, tables } from './types.js';

/** The smaller `[runners.*]` tables: referees (§5.7), monitoring (§5.8), artifact, experimental, custom_build_dir. */

export const refereesSchema = table({
  metrics: table(fields({ prometheus_address: 'string', query_interval: 'int', queries: 'string[]' })),
});

export const monitoringSchema = table({
  job_queuing_durations: tables({
    periods: cronPeriods(),
    timezone: timeZone(),
    threshold: duration(),
    jobs_running_for_project: formatted(isRegex, 'regular expression'),
  }),
});

export const artifactSchema = table(fields({ upload_timeout: 'duration', response_header_timeout: 'duration' }));

export const runnerExperimentalSchema = table({
  boot_verify: table(
    fields({ enabled: 'bool', timeout: 'duration', acquire_min_backoff: 'duration', acquire_max_backoff: 'duration' }),
  ),
});

export const customBuildDirSchema = table({ enabled: bool() });
