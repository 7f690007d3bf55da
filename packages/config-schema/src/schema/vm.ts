import type { z } from 'zod';
import { fields, table } from './types.js';

/** `[runners.parallels]`, `[runners.virtualbox]` (§5.5) and `[runners.instance]` (§5.11): parsed and kept. */

export const parallelsSchema = table(
  fields({
    base_name: 'string',
    template_name: 'string',
    disable_snapshots: 'bool',
    time_server: 'string',
    allowed_images: 'string[]',
  }),
);

export const virtualboxSchema = table(
  fields({
    base_name: 'string',
    base_snapshot: 'string',
    base_folder: 'string',
    disable_snapshots: 'bool',
    allowed_images: 'string[]',
    start_type: 'string',
  }),
);

export const instanceSchema = table(fields({ allowed_images: 'string[]', use_common_build_dir: 'bool' }));

export type ParallelsConfig = z.output<typeof parallelsSchema>;
export type VirtualboxConfig = z.output<typeof virtualboxSchema>;
