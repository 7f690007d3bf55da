import type { z } from 'zod';
import { labels } from './labels.js';
import { globalMachineSchema } from './machine.js';
import { runnersSchema } from './runners.js';
import { bool, duration, fields, int, oneOf, str, table } from './types.js';

/** The top level of config.toml (§4), `[session_server]` (§4.1) and `[experimental]` (§4.3). */

export const LOG_LEVELS = ['panic', 'fatal', 'error', 'warn', 'warning', 'info', 'debug', 'trace'] as const;
export const LOG_FORMATS = ['runner', 'text', 'json'] as const;

export const sessionServerSchema = table({
  listen_address: str(),
  advertise_address: str(),
  session_timeout: int(),
});

const usageLoggerDeprecated = { status: 'deprecated', note: 'use [experimental.usage_logger.logrotate]' } as const;

export const experimentalSchema = table({
  usage_logger: table(
    {
      enabled: bool(),
      ...fields({ writers: 'string[]', log_dir: 'string', max_backup_files: 'int', max_rotation_age: 'duration' }),
      labels: fields({ labels: 'map<string,string>' }).labels!,
      logrotate: table(
        fields({
          log_dir: 'string',
          max_backup_files: 'int',
          max_rotation_age: 'duration',
          labels: 'map<string,string>',
        }),
      ),
      snowplow_billing: table(
        fields({
          collector_uri: 'string',
          app_id: 'string',
          category: 'string',
          realm: 'string',
          deployment_type: 'string',
          metadata: 'map<string,string>',
          enable_oidc: 'bool',
          batch_delivery_duration_buckets: 'float[]',
          skip_oidc_if_unsupported_cloud: 'bool',
          skip_runner_system_failure: 'bool',
        }),
      ),
    },
    {
      log_dir: usageLoggerDeprecated,
      max_backup_files: usageLoggerDeprecated,
      max_rotation_age: usageLoggerDeprecated,
      labels: usageLoggerDeprecated,
    },
  ),
});

export const configSchema = table({
  concurrent: int(),
  check_interval: int(),
  log_level: oneOf(LOG_LEVELS, { caseInsensitive: true }),
  log_format: oneOf(LOG_FORMATS),
  listen_address: str(),
  sentry_dsn: str(),
  connection_max_age: duration(),
  shutdown_timeout: int(),
  user: str(),
  labels: labels(),
  session_server: sessionServerSchema,
  machine: globalMachineSchema,
  experimental: experimentalSchema,
  runners: runnersSchema,
});

/** The parsed config: known keys typed and normalised, unknown keys kept as plain values. */
export type Config = z.output<typeof configSchema>;
export type SessionServerConfig = z.output<typeof sessionServerSchema>;
