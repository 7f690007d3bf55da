// Extracting zstd archives: tar.zst (GitLab's tarzstd) and zip entries with method 93 (zipzstd) — ours and GNU tar's —
// restore contents, modes and symlinks; hostile tar.zst archives are refused with nothing written outside the target.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../errors.js';
import { type RawTarEntry, rawTar } from '../test-support/raw-tar.js';
import { writeArchive } from './create.js';
import { extractArchive } from './extract.js';
import { selectFiles } from './select.js';
import { zstdCompressBuffer } from './zstd.js';

let sandbox = '';
let project = '';
beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'rk-zstd-extract-'));
  project = join(sandbox, 'project');
  await mkdir(join(project, 'bin'), { recursive: true });
  await mkdir(join(project, 'data', 'empty'), { recursive: true });
  await writeFile(join(project, 'bin', 'run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(project, 'bin', 'run.sh'), 0o755);
  await writeFile(join(project, 'data', 'secret.txt'), 'private\n');
  await chmod(join(project, 'data', 'secret.txt'), 0o640);
  // 3 MB, compressible but not trivially: large enough to be streamed, not read whole
  const words = Array.from({ length: 64 }, () => randomBytes(6).toString('hex'));
  const big: string[] = [];
  for (let i = 0, size = 0; size < 3_000_000; i++) {
    const word = words[(i * 7919) % words.length] as string;
    big.push(word);
    size += word.length + 1;
  }
  await writeFile(join(project, 'data', 'big.txt'), big.join(' '));
  await symlink('secret.txt', join(project, 'data', 'link'));
  await symlink('../missing', join(project, 'data', 'dangling'));
});
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

/** path → kind, mode and content (or link target) of everything under `root`. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const info = await lstat(full);
      const key = relative(root, full);
      if (info.isSymbolicLink()) out[key] = `link -> ${await readlink(full)}`;
      else if (info.isDirectory()) {
        out[key] = 'dir';
        await walk(full);
      } else
        out[key] =
          `file ${(info.mode & 0o777).toString(8)} ${(await readFile(full)).toString('base64').length}:${(await readFile(full)).subarray(0, 24).toString()}`;
    }
  }
  await walk(root);
  return out;
}

describe('zstd archives extract', () => {
  it.each(['tar.zst', 'zipzstd'] as const)(
    '%s written by writeArchive round-trips contents, modes and links',
    async (format) => {
      const { entries } = await selectFiles({ root: project, paths: ['.'] });
      const file = join(sandbox, `ours.${format}`);
      await writeArchive({ root: project, entries, format, output: file, level: 3 });
      const head = (await readFile(file)).subarray(0, 4).toString('hex');
      expect(head).toBe(format === 'tar.zst' ? '28b52ffd' : '504b0304');
      if (format === 'zipzstd') {
        // the big entry is zstd (method 93) and above the whole-entry limit, so extraction streams it
        const zip = await yauzl.openPromise(file, { lazyEntries: true });
        const methods: Record<string, [number, number]> = {};
        for await (const entry of zip.eachEntry())
          methods[entry.fileName] = [entry.compressionMethod, entry.uncompressedSize];
        zip.close();
        expect(methods['data/big.txt']?.[0]).toBe(93);
        expect(methods['data/big.txt']?.[1]).toBeGreaterThan(1024 * 1024);
      }
      const out = join(sandbox, `out-${format}`);
      const result = await extractArchive({ file, target: out });
      expect(result.format).toBe(format === 'tar.zst' ? 'tar.zst' : 'zip');
      expect(await snapshot(out)).toEqual(await snapshot(project));
      // Buffer#equals: vitest's deep equality walks 3 MB byte by byte
      expect(
        (await readFile(join(out, 'data', 'big.txt'))).equals(await readFile(join(project, 'data', 'big.txt'))),
      ).toBe(true);
    },
  );

  it('a tar.zst made by GNU tar --zstd extracts as GNU tar extracts it', async () => {
    const file = join(sandbox, 'gnu.tar.zst');
    execFileSync('tar', ['--zstd', '-cf', file, '-C', project, '.']);
    const gnu = join(sandbox, 'gnu-out');
    await mkdir(gnu);
    execFileSync('tar', ['--zstd', '-xf', file, '-C', gnu]);
    const ours = join(sandbox, 'gnu-ours');
    expect((await extractArchive({ file, target: ours })).format).toBe('tar.zst');
    expect(await snapshot(ours)).toEqual(await snapshot(gnu));
  });
});

/** A raw tar (headers by hand: nothing sanitised) compressed into one zstd frame. */
function tarZstWith(entries: readonly RawTarEntry[]): Promise<Buffer> {
  return zstdCompressBuffer(rawTar(entries), 3);
}

describe('hostile tar.zst archives', () => {
  const cases: { name: string; bytes: () => Promise<Buffer>; code: string; limits?: { maxBytes: number } }[] = [
    {
      name: 'a ../ entry',
      bytes: () => tarZstWith([{ path: '../escaped.txt', data: 'evil' }]),
      code: 'ARCHIVE_PATH_TRAVERSAL',
    },
    {
      name: 'a symlink pointing out, then a file through it',
      bytes: () =>
        tarZstWith([
          { path: 'out', type: 'SymbolicLink', linkpath: '../..' },
          { path: 'out/escaped.txt', data: 'evil' },
        ]),
      code: 'ARCHIVE_LINK_ESCAPE',
    },
    {
      name: 'a truncated frame',
      bytes: async () => {
        const whole = await tarZstWith([{ path: 'a.txt', data: 'x'.repeat(100_000) }]);
        return whole.subarray(0, Math.floor(whole.length / 2));
      },
      code: 'ARCHIVE_TRUNCATED',
    },
    {
      name: 'a zstd bomb past maxBytes',
      bytes: () => tarZstWith([{ path: 'zeros.bin', data: '\0'.repeat(20_000_000) }]),
      code: 'ARCHIVE_LIMIT_EXCEEDED',
      limits: { maxBytes: 1_000_000 },
    },
  ];
  it.each(cases)('$name is refused ($code), nothing written outside the target', async ({ bytes, code, limits }) => {
    const base = await mkdtemp(join(sandbox, 'hostile-'));
    const file = join(base, 'archive.tar.zst');
    await writeFile(file, await bytes());
    const target = join(base, 'deep', 'target');
    const error = await extractArchive({ file, target, ...limits }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(ArchiveError.isInstance(error)).toBe(true);
    expect((error as ArchiveError).code).toBe(code);
    expect((await readdir(base)).sort()).toEqual(['archive.tar.zst', 'deep']);
    expect(await readdir(join(base, 'deep'))).toEqual(['target']);
  });
});
