import { z } from 'zod';
import { configSchema } from './schema/global.js';

/** The `$id` of the exported schema (editors key their settings on it). */
export const CONFIG_JSON_SCHEMA_ID = 'https://runnerkit.dev/schemas/config.schema.json';

/**
 * JSON Schema (draft 2020-12) of the raw config.toml document, generated from the zod schemas: one object per
 * table with every known key, `additionalProperties: true` (unknown keys are legal), durations as a Go duration
 * pattern or integer nanoseconds. The committed copy is `@runnerkit/config-schema/config.schema.json`.
 */
export function createJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: (context) => {
      const json = context.jsonSchema as Record<string, unknown>;
      const extra = json.additionalProperties;
      if (json.type === 'object' && json.properties && isEmptyObject(extra)) json.additionalProperties = true;
    },
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: CONFIG_JSON_SCHEMA_ID,
    title: 'GitLab Runner config.toml (runnerkit)',
    description: 'config.toml as GitLab Runner 19.4 reads it; unknown keys are allowed (runnerkit warns about them).',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}
