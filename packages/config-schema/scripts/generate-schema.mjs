// Regenerates config.schema.json from the built package: pnpm --filter @runnerkit/config-schema generate-schema
import { writeFileSync } from 'node:fs';
import { createJsonSchema } from '../dist/index.js';

writeFileSync(new URL('../config.schema.json', import.meta.url), `${JSON.stringify(createJsonSchema(), null, 2)}\n`);
