import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from './create.js';
import { detectArchiveFormat, extractArchive } from './extract.js';
import { selectFiles } from './select.js';

let work = '';
let project = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rk-archive-'));
  project = join(work, 'project');
  await mkdir(join(project, 'vendor/lib/deep'), { recursive: true });
  await mkdir(join(project, 'build'), { recursive: true });
  await mkdir(join(project, '.hidden'), { recursive: true });
  await writeFile(join(project, 'vendor/lib/a.js'), 'a');
  await writeFile(join(project, 'vendor/lib/deep/b.js'), 'b');
  await writeFile(join(project, 'vendor/lib/deep/c.map'), 'c');
  await writeFile(join(project, 'build/tool.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(project, 'build/tool.sh'), 0o755);
  await writeFile(join(project, 'build/report ü%.txt'), 'unicode');
  await writeFile(join(project, '.hidden/x'), 'hidden');
  await symlink('lib/a.js', join(project, 'vendor/link-to-a'));
  await writeFile(join(project, 'tracked.txt'), 'tracked');
  await writeFile(join(project, '.gitignore'), 'ignored.log\n');
  execFileSync('git', ['init', '-q'], { cwd: project });
  execFileSync('git', ['add', 'tracked.txt', '.gitignore'], { cwd: project });
  await writeFile(join(project, 'ignored.log'), 'ignored but untracked');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('selectFiles', () => {
  it('walks literal paths and doublestar globs without following symlinks, and applies exclude', async () => {
    const selection = await selectFiles({
      root: project,
      paths: ['vendor/', 'build/*.sh', '**/deep'],
      exclude: ['**/*.map'],
    });
    expect(selection.entries.map((e) => `${e.type}:${e.path}`)).toMatchInlineSnapshot(`
      [
        "file:build/tool.sh",
        "directory:vendor",
        "directory:vendor/lib",
        "file:vendor/lib/a.js",
        "directory:vendor/lib/deep",
        "file:vendor/lib/deep/b.js",
        "symlink:vendor/link-to-a",
      ]
    `);
    expect(selection.messages).toMatchInlineSnapshot(`
      [
        "vendor/: found 7 matching artifact files and directories",
        "build/*.sh: found 1 matching artifact files and directories",
        "**/deep: found 3 matching artifact files and directories",
        "**/*.map: excluded 1 files",
      ]
    `);
  });

  it('adds untracked files (git-ignored included), warns on no match and refuses globs outside the project', async () => {
    const selection = await selectFiles({ root: project, paths: ['missing/*.txt', '../outside'], untracked: true });
    expect(selection.entries.map((e) => e.path)).toContain('ignored.log');
    expect(selection.entries.map((e) => e.path)).not.toContain('tracked.txt');
    expect(selection.messages[0]).toBe(
      `WARNING: missing/*.txt: no matching files. Ensure that the artifact path is relative to the working directory (${project})`,
    );
    expect(selection.messages.at(-1)).toMatch(/^untracked: found \d+ files$/);
    await expect(selectFiles({ root: project, paths: ['../*'] })).rejects.toMatchObject({
      code: 'ARCHIVE_PATH_OUTSIDE_PROJECT',
    });
  });
});

describe.each(['zip', 'tar.gz'] as const)('%s cache archives', (format) => {
  it('round-trip files, directories, modes and symlinks', async () => {
    const { entries } = await selectFiles({ root: project, paths: ['vendor', 'build', '.hidden'] });
    const file = join(work, `cache.${format}`);
    await writeArchive({ root: project, entries, format, output: file });
    expect(await detectArchiveFormat(file)).toBe(format);
    const target = join(work, `out-${format}`);
    const result = await extractArchive({ file, target });
    expect(result.format).toBe(format);
    expect(result.entries).toBe(entries.length);
    expect(await readFile(join(target, 'vendor/lib/deep/b.js'), 'utf8')).toBe('b');
    expect(await readFile(join(target, 'build/report ü%.txt'), 'utf8')).toBe('unicode');
    expect(await readFile(join(target, '.hidden/x'), 'utf8')).toBe('hidden');
    expect((await stat(join(target, 'build/tool.sh'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(target, 'vendor/link-to-a'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(target, 'vendor/link-to-a'))).toBe('lib/a.js');
    // Extracting again over the same tree replaces files.
    await extractArchive({ file, target });
    expect(await readFile(join(target, 'vendor/lib/a.js'), 'utf8')).toBe('a');
  });
});

describe('zip interoperability', () => {
  it('writes zips that Info-ZIP unzip reads, with the symlink kept', async () => {
    const { entries } = await selectFiles({ root: project, paths: ['vendor', 'build'] });
    const file = join(work, 'interop.zip');
    await writeArchive({ root: project, entries, format: 'zip', output: file, level: 1 });
    const target = join(work, 'interop');
    execFileSync('unzip', ['-q', file, '-d', target]);
    expect(await readFile(join(target, 'build/tool.sh'), 'utf8')).toContain('echo hi');
    expect(await readlink(join(target, 'vendor/link-to-a'))).toBe('lib/a.js');
  });

  it('extracts zips written by Info-ZIP zip', async () => {
    const file = join(work, 'infozip.zip');
    execFileSync('zip', ['-q', '-r', '-y', file, 'vendor', 'build'], { cwd: project });
    const target = join(work, 'from-infozip');
    await extractArchive({ file, target });
    expect(await readFile(join(target, 'vendor/lib/deep/c.map'), 'utf8')).toBe('c');
    expect(await readlink(join(target, 'vendor/link-to-a'))).toBe('lib/a.js');
    expect((await stat(join(target, 'build/tool.sh'))).mode & 0o777).toBe(0o755);
  });
});

describe('artifact formats', () => {
  it('gzip: one member per regular file, named by base name with the relative path as comment', async () => {
    const { entries } = await selectFiles({ root: project, paths: ['vendor/lib/a.js', 'build/report ü%.txt'] });
    const file = join(work, 'artifacts.gz');
    await writeArchive({ root: project, entries, format: 'gzip', output: file });
    const bytes = await readFile(file);
    expect(gunzipSync(bytes).toString()).toBe('unicodea');
    const first = bytes.subarray(10, 10 + 'e:report%20%C3%BC%25.txt\0'.length).toString('latin1');
    expect(first).toBe('e:report%20%C3%BC%25.txt\0');
    expect(bytes.includes(Buffer.from('a.js\0vendor/lib/a.js\0'))).toBe(true);
    expect(bytes.includes(Buffer.from('e:build%2Freport%20%C3%BC%25.txt\0'))).toBe(true);
    expect(execFileSync('gzip', ['-t', file]).length).toBe(0);
  });

  it('raw: exactly one file, as is', async () => {
    const one = await selectFiles({ root: project, paths: ['build/tool.sh'] });
    const file = join(work, 'raw.bin');
    await writeArchive({ root: project, entries: one.entries, format: 'raw', output: file });
    expect(await readFile(file, 'utf8')).toBe('#!/bin/sh\necho hi\n');
    const two = await selectFiles({ root: project, paths: ['vendor/lib'] });
    await expect(
      writeArchive({ root: project, entries: two.entries, format: 'raw', output: file }),
    ).rejects.toMatchObject({
      code: 'ARCHIVE_RAW_MULTIPLE_FILES',
      message: 'only one file can be sent as raw',
    });
  });
});
