import { open, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceSpool } from '@runnerkit/job-api-client';
import { afterAll, describe, expect, it } from 'vitest';
import { removeLeftoverTraceSpools } from './trace-spool-sweep.js';

const base = await mkdtemp(join(tmpdir(), 'runnerkit-spool-sweep-'));
afterAll(() => rm(base, { recursive: true, force: true }));

describe('left-over trace spool files', () => {
  it('removes spool files a killed runner left and nothing else; a missing directory holds none', async () => {
    const dir = join(base, 'traces');
    expect(await removeLeftoverTraceSpools(dir)).toBe(0);
    // a real spool file, as a session makes it, abandoned without close()
    const spool = new TraceSpool({ directory: dir, label: '4242' });
    spool.append(Buffer.alloc(3 * 1024 * 1024, 'x'));
    await spool.whenWritten();
    expect(spool.filePath).toMatch(/trace-4242-[0-9a-f]{12}\.log$/);
    await writeFile(join(dir, 'notes.txt'), 'keep');
    await writeFile(join(dir, 'trace-7-nothex.log'), 'keep');
    expect(await removeLeftoverTraceSpools(dir)).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['notes.txt', 'trace-7-nothex.log']);
    // the spool's own reads go on through its open descriptor; closing it later is not an error
    expect(spool.length).toBe(3 * 1024 * 1024);
    await spool.close();
  });

  it('a file another process still writes keeps its data for that process', async () => {
    const dir = join(base, 'live');
    const spool = new TraceSpool({ directory: dir, label: '1' });
    spool.append(Buffer.alloc(2 * 1024 * 1024, 'a'));
    await spool.whenWritten();
    const path = spool.filePath as string;
    const reader = await open(path, 'r');
    expect(await removeLeftoverTraceSpools(dir)).toBe(1);
    const check = Buffer.alloc(16);
    await reader.read(check, 0, 16, 1024 * 1024);
    await reader.close();
    expect(check.toString()).toBe('a'.repeat(16));
    const slice = await spool.slice(1024 * 1024 - 8, 16);
    expect(Buffer.from(slice).toString()).toBe('a'.repeat(16));
    await spool.close();
  });
});
