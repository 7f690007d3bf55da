// The `runnerkit` entry point (bin/runnerkit.js loads the built file): the command tree of cli.ts, parsed.
import { createProgram } from './cli.js';

await (await createProgram(process.argv.slice(2))).parseAsync(process.argv);
