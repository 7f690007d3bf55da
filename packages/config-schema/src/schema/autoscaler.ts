import type { z } from 'zod';
import { fields, table, tables } from './types.js';

/** `[runners.autoscaler]` (§5.10): fleeting-based autoscaling. Parsed and kept; not executed by runnerkit. */

const connectorConfig = () =>
  table(
    fields({
      os: 'string',
      arch: 'string',
      protocol: 'string',
      protocol_port: 'int',
      username: 'string',
      password: 'string',
      key_path: 'string',
      use_static_credentials: 'bool',
      keepalive: 'duration',
      timeout: 'duration',
      use_external_addr: 'bool',
    }),
  );

export const autoscalerSchema = table({
  ...fields({
    plugin: 'string',
    capacity_per_instance: 'int',
    max_use_count: 'int',
    max_instances: 'int',
    plugin_config: 'map<string,any>',
    instance_ready_command: 'string',
    instance_acquire_timeout: 'duration',
    update_interval: 'duration',
    update_interval_when_expecting: 'duration',
    deletion_retry_interval: 'duration',
    shutdown_deletion_interval: 'duration',
    shutdown_deletion_retries: 'int',
    failure_threshold: 'int',
    reservation_throttling: 'bool',
    log_internal_ip: 'bool',
    log_external_ip: 'bool',
    delete_instances_on_shutdown: 'bool',
    instance_operation_time_buckets: 'float[]',
    instance_creation_time_buckets: 'float[]',
    instance_is_running_time_buckets: 'float[]',
    instance_deletion_time_buckets: 'float[]',
    instance_readiness_time_buckets: 'float[]',
    instance_life_duration_buckets: 'float[]',
  }),
  connector_config: connectorConfig(),
  policy: tables(
    fields({
      periods: 'string[]',
      timezone: 'string',
      idle_count: 'int',
      idle_time: 'duration',
      scale_factor: 'float',
      scale_factor_limit: 'int',
      preemptive_mode: 'bool',
    }),
  ),
  scale_throttle: table(fields({ limit: 'int', burst: 'int' })),
  state_storage: table(fields({ enabled: 'bool', dir: 'string', keep_instance_with_acquisitions: 'bool' })),
  vm_isolation: table({
    ...fields({ enabled: 'bool', nesting_host: 'string', nesting_config: 'map<string,any>', image: 'string' }),
    connector_config: connectorConfig(),
  }),
});
export type AutoscalerConfig = z.output<typeof autoscalerSchema>;
