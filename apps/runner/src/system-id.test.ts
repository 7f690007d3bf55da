import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateSystemId, systemIdFile } from './system-id.js';

const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});
async function configIn(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'runnerkit-system-id-'));
  directories.push(directory);
  return join(directory, 'config.toml');
}

describe('the system ID state file', () => {
  it('derives s_ from the machine ID, saves it beside config.toml and reuses it', async () => {
    const config = await configIn();
    const id = await loadOrCreateSystemId(config, async () => 'machine-1');
    expect(id).toMatch(/^s_[0-9a-f]{12}$/);
    expect(await loadOrCreateSystemId(config, async () => 'machine-1')).toBe(id);
    expect(await loadOrCreateSystemId(config, async () => 'another machine')).toBe(id);
    expect((await readFile(systemIdFile(config), 'utf8')).trim()).toBe(id);
  });

  it('is r_ + 12 random alphanumerics without a machine ID; an invalid state file is replaced', async () => {
    const config = await configIn();
    await writeFile(systemIdFile(config), 'not-an-id\n');
    const id = await loadOrCreateSystemId(config, async () => undefined);
    expect(id).toMatch(/^r_[0-9a-zA-Z]{12}$/);
    expect((await readFile(systemIdFile(config), 'utf8')).trim()).toBe(id);
  });
});
