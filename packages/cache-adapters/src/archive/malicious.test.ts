import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { ZipFile } from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../errors.js';
import { type RawTarEntry, rawTar } from '../test-support/raw-tar.js';
import { extractArchive } from './extract.js';

let sandbox = '';
beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'rk-malicious-'));
});
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

/** Builds a zip with yazl, then swaps placeholder names for the hostile ones (same length) in every header. */
async function zipWith(
  entries: { name: string; data?: string | Buffer; symlink?: boolean; swap?: [string, string] }[],
): Promise<Buffer> {
  const zip = new ZipFile();
  for (const entry of entries) {
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? 'evil');
    zip.addBuffer(data, entry.name, entry.symlink ? { mode: 0o120777, compressionLevel: 0 } : { mode: 0o100644 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes = Buffer.concat(chunks);
  for (const entry of entries) {
    if (!entry.swap) continue;
    const [from, to] = entry.swap;
    if (from.length !== to.length) throw new Error('swap must keep the length');
    let at = bytes.indexOf(from);
    while (at !== -1) {
      bytes.write(to, at, 'latin1');
      at = bytes.indexOf(from, at + 1);
    }
    bytes = Buffer.from(bytes);
  }
  return bytes;
}

/** A raw tar.gz (headers by hand, nothing sanitised). */
function tarGzWith(entries: readonly RawTarEntry[], end = true): Buffer {
  return gzipSync(rawTar(entries, end));
}

/** One gzip member of GitLab's artifact format: the comment carries the relative path. */
function gzipMember(comment: string, data: Buffer | string): Buffer {
  const body = Buffer.from(data);
  const header = Buffer.from([0x1f, 0x8b, 8, 0x10, 0, 0, 0, 0, 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(body) >>> 0, 0);
  trailer.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, Buffer.from(`${comment}\0`, 'latin1'), deflateRawSync(body), trailer]);
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath, entry.name);
    out.push(`${relative(dir, full)}${entry.isFile() ? `=${await readFile(full, 'utf8')}` : ''}`);
  }
  return out.sort();
}

interface Case {
  name: string;
  code: string;
  build: (paths: { sandbox: string; outside: string; target: string }) => Promise<Buffer> | Buffer;
  prepare?: (paths: { outside: string; target: string }) => Promise<void>;
  limits?: { maxEntries?: number; maxBytes?: number };
}

const cases: Case[] = [
  {
    name: 'zip: ../ in a name',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: () => zipWith([{ name: 'xx/evil.txt', swap: ['xx/evil.txt', '../evil.txt'] }]),
  },
  {
    name: 'zip: a/../../ in a name',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: () => zipWith([{ name: 'a/xx/xx/evil.txt', swap: ['a/xx/xx/evil.txt', 'a/../../evil.txt'] }]),
  },
  {
    name: 'zip: absolute name',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: ({ sandbox }) => {
      const absolute = `${sandbox}/evil.txt`;
      const placeholder = `X${absolute.slice(1)}`;
      return zipWith([{ name: placeholder, swap: [placeholder, absolute] }]);
    },
  },
  {
    name: 'zip: backslash traversal',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: () => zipWith([{ name: 'xx/evil.txt', swap: ['xx/evil.txt', '..\\evil.txt'] }]),
  },
  {
    name: 'zip: symlink to ../..',
    code: 'ARCHIVE_LINK_ESCAPE',
    build: () => zipWith([{ name: 'link', data: '../outside', symlink: true }]),
  },
  {
    name: 'zip: symlink to an absolute path',
    code: 'ARCHIVE_LINK_ESCAPE',
    build: ({ outside }) => zipWith([{ name: 'link', data: outside, symlink: true }]),
  },
  {
    name: 'zip: write through an existing symlink in the target',
    code: 'ARCHIVE_LINK_ESCAPE',
    prepare: async ({ outside, target }) => symlink(outside, join(target, 'pre')),
    build: () => zipWith([{ name: 'pre/evil.txt' }]),
  },
  {
    name: 'zip: more entries than allowed',
    code: 'ARCHIVE_LIMIT_EXCEEDED',
    limits: { maxEntries: 3 },
    build: () => zipWith([1, 2, 3, 4, 5].map((n) => ({ name: `f${n}` }))),
  },
  {
    name: 'zip: bomb (expands beyond the byte limit)',
    code: 'ARCHIVE_LIMIT_EXCEEDED',
    limits: { maxBytes: 1024 * 1024 },
    build: () => zipWith([{ name: 'zeros', data: Buffer.alloc(8 * 1024 * 1024) }]),
  },
  {
    name: 'zip: truncated',
    code: 'ARCHIVE_TRUNCATED',
    build: async () => {
      const whole = await zipWith([{ name: 'a', data: Buffer.alloc(50_000, 7) }, { name: 'b' }]);
      return whole.subarray(0, Math.floor(whole.length / 2));
    },
  },
  {
    name: 'zip: compressed bytes altered',
    code: 'ARCHIVE_CORRUPT',
    build: async () => {
      const bytes = await zipWith([{ name: 'a.txt', data: Buffer.from('all good here '.repeat(20)) }]);
      const at = bytes.indexOf('a.txt') + 'a.txt'.length + 12;
      bytes[at] = (bytes[at] as number) ^ 0xff;
      return bytes;
    },
  },
  {
    name: 'tar.gz: ../ in a name',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: () => tarGzWith([{ path: '../evil.txt', data: 'evil' }]),
  },
  {
    name: 'tar.gz: absolute name',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: ({ sandbox }) => tarGzWith([{ path: `${sandbox}/evil.txt`, data: 'evil' }]),
  },
  {
    name: 'tar.gz: symlink out, then a file through it',
    code: 'ARCHIVE_LINK_ESCAPE',
    build: () =>
      tarGzWith([
        { path: 'link', type: 'SymbolicLink', linkpath: '../outside' },
        { path: 'link/evil.txt', data: 'evil' },
      ]),
  },
  {
    name: 'tar.gz: hard link out of the target',
    code: 'ARCHIVE_LINK_ESCAPE',
    build: () => tarGzWith([{ path: 'hard', type: 'Link', linkpath: '../outside/secret.txt' }]),
  },
  {
    name: 'tar.gz: hard link to an absolute path',
    code: 'ARCHIVE_LINK_ESCAPE',
    build: ({ outside }) => tarGzWith([{ path: 'hard', type: 'Link', linkpath: `${outside}/secret.txt` }]),
  },
  {
    name: 'tar.gz: write through an existing symlink in the target',
    code: 'ARCHIVE_LINK_ESCAPE',
    prepare: async ({ outside, target }) => symlink(outside, join(target, 'pre')),
    build: () => tarGzWith([{ path: 'pre/evil.txt', data: 'evil' }]),
  },
  {
    name: 'tar.gz: bomb (declared sizes beyond the byte limit)',
    code: 'ARCHIVE_LIMIT_EXCEEDED',
    limits: { maxBytes: 1000 },
    build: () => tarGzWith([{ path: 'big', data: 'x'.repeat(2000) }]),
  },
  {
    name: 'tar.gz: more entries than allowed',
    code: 'ARCHIVE_LIMIT_EXCEEDED',
    limits: { maxEntries: 2 },
    build: () =>
      tarGzWith([
        { path: 'a', data: '1' },
        { path: 'b', data: '2' },
        { path: 'c', data: '3' },
      ]),
  },
  {
    name: 'tar.gz: truncated',
    code: 'ARCHIVE_TRUNCATED',
    build: () => {
      const whole = tarGzWith([
        { path: 'a', data: 'y'.repeat(100_000) },
        { path: 'b', data: 'z' },
      ]);
      return whole.subarray(0, Math.floor(whole.length / 2));
    },
  },
  {
    name: 'tar.gz: tar stream cut short inside an entry',
    code: 'ARCHIVE_TRUNCATED',
    build: () => tarGzWith([{ path: 'a', data: 'short', size: 100_000 }], false),
  },
  {
    name: 'tar.gz: hard link to a name the archive does not hold',
    code: 'ARCHIVE_CORRUPT',
    build: () => tarGzWith([{ path: 'hard', type: 'Link', linkpath: 'missing.txt' }]),
  },
  {
    name: 'gzip: ../ in a member comment',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: () => gzipMember('../evil.txt', 'evil'),
  },
  {
    name: 'gzip: URL-escaped ../ in a member comment',
    code: 'ARCHIVE_PATH_TRAVERSAL',
    build: () => gzipMember('e:..%2Fevil.txt', 'evil'),
  },
  {
    name: 'gzip: write through an existing symlink in the target',
    code: 'ARCHIVE_LINK_ESCAPE',
    prepare: async ({ outside, target }) => symlink(outside, join(target, 'pre')),
    build: () => gzipMember('pre/evil.txt', 'evil'),
  },
  {
    name: 'gzip: bomb (inflates beyond the byte limit)',
    code: 'ARCHIVE_LIMIT_EXCEEDED',
    limits: { maxBytes: 1024 * 1024 },
    build: () => gzipMember('zeros', Buffer.alloc(8 * 1024 * 1024)),
  },
  {
    name: 'gzip: more members than allowed',
    code: 'ARCHIVE_LIMIT_EXCEEDED',
    limits: { maxEntries: 1 },
    build: () => Buffer.concat([gzipMember('a', '1'), gzipMember('b', '2')]),
  },
  {
    name: 'gzip: truncated',
    code: 'ARCHIVE_TRUNCATED',
    build: () => {
      const whole = Buffer.concat([gzipMember('a', 'x'.repeat(1000)), gzipMember('b', 'y'.repeat(100_000))]);
      return whole.subarray(0, whole.length - 40);
    },
  },
  { name: 'not an archive', code: 'ARCHIVE_FORMAT_UNKNOWN', build: () => Buffer.from('just text, not an archive') },
];

describe('extractArchive refuses malicious archives', () => {
  it.each(cases)('$name → $code, nothing written outside the target', async (testCase) => {
    const root = await mkdtemp(join(sandbox, 'case-'));
    const outside = join(root, 'outside');
    const target = join(root, 'target');
    await mkdir(outside);
    await mkdir(target);
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await testCase.prepare?.({ outside, target });
    const archive = join(root, 'archive.bin');
    await writeFile(archive, await testCase.build({ sandbox: root, outside, target }));
    const before = (await listTree(root)).filter((line) => !line.startsWith('target'));

    const error = await extractArchive({ file: archive, target, ...testCase.limits }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(ArchiveError.isInstance(error), String(error)).toBe(true);
    expect((error as ArchiveError).code).toBe(testCase.code);
    const after = (await listTree(root)).filter((line) => !line.startsWith('target'));
    expect(after).toEqual(before);
  });
});
