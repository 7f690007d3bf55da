import { execFileSync } from 'node:child_process';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from './create.js';
import { extractArchive } from './extract.js';
import { selectFiles } from './select.js';

let work = '';
let project = '';
const longDirectory = `${'deep-directory-name/'.repeat(6)}end`;

/** Deterministic bytes that deflate only a little (so sizes stay near the thresholds under test). */
function noise(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = i % 3 === 0 ? 0x61 : state >>> 24;
  }
  return bytes;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rk-large-'));
  project = join(work, 'project');
  await mkdir(join(project, 'big'), { recursive: true });
  await mkdir(join(project, longDirectory), { recursive: true });
  // 6 MiB: streamed by the zip writer (> 4 MiB) and by every extractor (> 1 MiB); 2 MiB: whole when archiving.
  await writeFile(join(project, 'big/six.bin'), noise(6 * 1024 * 1024, 1));
  await writeFile(join(project, 'big/two.bin'), noise(2 * 1024 * 1024, 2));
  await chmod(join(project, 'big/six.bin'), 0o750);
  await utimes(join(project, 'big/six.bin'), new Date('2025-03-04T05:06:07Z'), new Date('2025-03-04T05:06:07Z'));
  await writeFile(join(project, longDirectory, 'a-file-with-a-rather-long-name-as-well.txt'), 'long');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(['zip', 'tar.gz'] as const)('%s archives', (format) => {
  it('round-trip large files (streamed) and long paths with content, mode and mtime', async () => {
    const { entries } = await selectFiles({ root: project, paths: ['big', 'deep-directory-name'] });
    const file = join(work, `large.${format}`);
    await writeArchive({ root: project, entries, format, output: file });
    const target = join(work, `large-${format}`);
    await extractArchive({ file, target });
    for (const name of ['big/six.bin', 'big/two.bin']) {
      expect((await readFile(join(target, name))).equals(await readFile(join(project, name))), name).toBe(true);
    }
    const six = await stat(join(target, 'big/six.bin'));
    expect(six.mode & 0o777).toBe(0o750);
    expect(six.mtime.toISOString()).toBe('2025-03-04T05:06:07.000Z');
    expect(await readFile(join(target, longDirectory, 'a-file-with-a-rather-long-name-as-well.txt'), 'utf8')).toBe(
      'long',
    );
  });

  it('replace a directory that stands where the archive has a file, and a file where it has a directory', async () => {
    const source = join(work, `swap-source-${format}`);
    await mkdir(join(source, 'was-dir'), { recursive: true });
    await mkdir(join(source, 'was-file'), { recursive: true });
    await writeFile(join(source, 'was-dir/.keep'), '');
    await rm(join(source, 'was-dir'), { recursive: true });
    await writeFile(join(source, 'was-dir'), 'now a file');
    await writeFile(join(source, 'was-file/inside.txt'), 'inside');
    const { entries } = await selectFiles({ root: source, paths: ['was-dir', 'was-file'] });
    const file = join(work, `swap.${format}`);
    await writeArchive({ root: source, entries, format, output: file });
    const target = join(work, `swap-${format}`);
    await mkdir(join(target, 'was-dir/nested'), { recursive: true });
    await writeFile(join(target, 'was-file'), 'old file');
    await extractArchive({ file, target });
    expect(await readFile(join(target, 'was-dir'), 'utf8')).toBe('now a file');
    expect(await readFile(join(target, 'was-file/inside.txt'), 'utf8')).toBe('inside');
  });
});

describe('tar.gz hard links', () => {
  it('become hard links inside the target', async () => {
    const source = join(work, 'links');
    await mkdir(source);
    await writeFile(join(source, 'original.txt'), 'shared');
    await link(join(source, 'original.txt'), join(source, 'alias.txt'));
    const file = join(work, 'links.tar.gz');
    execFileSync('tar', ['-czf', file, '-C', source, 'original.txt', 'alias.txt']);
    const target = join(work, 'links-out');
    const result = await extractArchive({ file, target });
    expect(result.entries).toBe(2);
    const [original, alias] = await Promise.all([
      lstat(join(target, 'original.txt')),
      lstat(join(target, 'alias.txt')),
    ]);
    expect(alias.ino).toBe(original.ino);
    expect(await readFile(join(target, 'alias.txt'), 'utf8')).toBe('shared');
  });
});
