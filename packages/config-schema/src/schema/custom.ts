import type { z } from 'zod';
import { int, str, strings, table } from './types.js';

/** `[runners.custom]` (§5.6); timeouts are integer seconds, ≤ 0 meaning the default. */
export const customSchema = table({
  config_exec: str(),
  config_args: strings(),
  config_exec_timeout: int(),
  prepare_exec: str(),
  prepare_args: strings(),
  prepare_exec_timeout: int(),
  run_exec: str(),
  run_args: strings(),
  cleanup_exec: str(),
  cleanup_args: strings(),
  cleanup_exec_timeout: int(),
  graceful_kill_timeout: int(),
  force_kill_timeout: int(),
});
export type CustomConfig = z.output<typeof customSchema>;
