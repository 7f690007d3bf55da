import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from './create.js';
import { detectArchiveFormat, extractArchive } from './extract.js';
import { selectFiles } from './select.js';

let work = '';
let project = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rk-gzip-'));
  project = join(work, 'project');
  await mkdir(join(project, 'reports/unit'), { recursive: true });
  await writeFile(join(project, 'reports/unit/junit.xml'), '<testsuites/>');
  await writeFile(join(project, 'reports/cover ü%.txt'), 'coverage');
  await writeFile(join(project, 'big.log'), Buffer.alloc(3 * 1024 * 1024, 'log line\n'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('gzip artifact archives', () => {
  it('extract to the relative paths in the member comments, with mtimes', async () => {
    const { entries } = await selectFiles({ root: project, paths: ['reports', 'big.log'] });
    const file = join(work, 'artifacts.gz');
    await writeArchive({ root: project, entries, format: 'gzip', output: file });
    expect(await detectArchiveFormat(file)).toBe('gzip');
    const target = join(work, 'out');
    const result = await extractArchive({ file, target });
    expect(result).toEqual({ format: 'gzip', entries: 3, bytes: 3 * 1024 * 1024 + 13 + 8 });
    expect(await readFile(join(target, 'reports/unit/junit.xml'), 'utf8')).toBe('<testsuites/>');
    expect(await readFile(join(target, 'reports/cover ü%.txt'), 'utf8')).toBe('coverage');
    expect((await readFile(join(target, 'big.log'))).equals(await readFile(join(project, 'big.log')))).toBe(true);
    const original = await stat(join(project, 'reports/unit/junit.xml'));
    const extracted = await stat(join(target, 'reports/unit/junit.xml'));
    expect(Math.floor(extracted.mtimeMs / 1000)).toBe(Math.floor(original.mtimeMs / 1000));
  });

  it('tell tar.gz from gzip by the inflated tar header, whoever wrote them', async () => {
    execFileSync('tar', ['-czf', join(work, 'gnu.tar.gz'), '-C', project, 'reports']);
    expect(await detectArchiveFormat(join(work, 'gnu.tar.gz'))).toBe('tar.gz');
    execFileSync('sh', ['-c', `gzip -c "${join(project, 'reports/unit/junit.xml')}" > "${join(work, 'plain.gz')}"`]);
    expect(await detectArchiveFormat(join(work, 'plain.gz'))).toBe('gzip');
    const target = join(work, 'from-gnu');
    await extractArchive({ file: join(work, 'gnu.tar.gz'), target });
    expect(await readFile(join(target, 'reports/unit/junit.xml'), 'utf8')).toBe('<testsuites/>');
    // A member with only a name (gzip(1) keeps the base name) lands under that name.
    const plain = join(work, 'from-plain');
    await extractArchive({ file: join(work, 'plain.gz'), target: plain });
    expect(await readFile(join(plain, 'junit.xml'), 'utf8')).toBe('<testsuites/>');
  });
});
