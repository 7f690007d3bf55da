import type { z } from 'zod';
import { isCronExpression, isTimeZone } from '../values/formats.js';
import { bool, duration, float, formatted, int, list, str, strings, table, tables } from './types.js';

/** `[runners.machine]` (§5.9): PascalCase keys (Go field names, no tags). Parsed and kept; not executed. */

const deprecatedOffPeak = {
  status: 'deprecated',
  note: 'no effect since GitLab Runner 14.0; use [[runners.machine.autoscaling]]',
} as const;

export const cronPeriods = () =>
  list(
    formatted(isCronExpression, 'cron period (5 to 7 fields: [second] minute hour day month weekday [year])'),
    'strings',
  );
export const timeZone = () =>
  formatted(isTimeZone, 'time zone (expected an IANA name such as "Europe/Berlin", "UTC" or "Local")');

export const machineSchema = table(
  {
    MaxGrowthRate: int(),
    IdleCount: int(),
    IdleScaleFactor: float(),
    IdleCountMin: int(),
    IdleTime: int(),
    MaxBuilds: int(),
    MachineDriver: str(),
    MachineName: str(),
    MachineOptions: strings(),
    MachineOptionsWithName: list(
      formatted((value) => value.includes('%s'), 'MachineOptionsWithName entry (it must contain %s)'),
      'strings',
    ),
    MaxRemovalAttempts: int(),
    OffPeakPeriods: strings(),
    OffPeakTimezone: str(),
    OffPeakIdleCount: int(),
    OffPeakIdleTime: int(),
    autoscaling: tables({
      Periods: cronPeriods(),
      Timezone: timeZone(),
      IdleCount: int(),
      IdleScaleFactor: float(),
      IdleCountMin: int(),
      IdleTime: int(),
    }),
  },
  {
    OffPeakPeriods: deprecatedOffPeak,
    OffPeakTimezone: deprecatedOffPeak,
    OffPeakIdleCount: deprecatedOffPeak,
    OffPeakIdleTime: deprecatedOffPeak,
  },
);
export type MachineConfig = z.output<typeof machineSchema>;

/** Global `[machine]` (§4.2). */
export const globalMachineSchema = table({
  shutdown_drain: table({ enabled: bool(), concurrency: int(), max_retries: int(), retry_backoff: duration() }),
});
