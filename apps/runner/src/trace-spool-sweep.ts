// Job traces are spooled to `trace-<job>-<random>.log` files while they are uploaded; a runner that is killed
// leaves its files behind. At start-up they are removed: an upload still running in another process of the same
// user is not hurt, since it reads its file through the descriptor it holds, and unlinking only frees the name.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const SPOOL_FILE = /^trace-[\w.-]+-[0-9a-f]{12}\.log$/;

/** Removes left-over trace spool files in `directory`; returns how many. A missing directory holds none. */
export async function removeLeftoverTraceSpools(directory: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let removed = 0;
  for (const name of names) {
    if (!SPOOL_FILE.test(name)) continue;
    try {
      await unlink(join(directory, name));
      removed++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
