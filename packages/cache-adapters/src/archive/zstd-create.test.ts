import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive, zstdLevel } from './create.js';
import { selectFiles } from './select.js';
import { zstdDecompressBuffer } from './zstd.js';

const run = promisify(execFile);

/** Debian's zstd CLI, reading `input` from stdin: the independent decoder. */
function zstdCli(args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('zstd', args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

let work: string;
let tree: string;
const big = randomBytes(5 * 1024 * 1024); // above the zip writer's 4 MiB whole-file limit: streamed
const text = Buffer.from('compressible line of text\n'.repeat(20_000));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rk-zstd-create-'));
  tree = join(work, 'tree');
  await mkdir(join(tree, 'bin'), { recursive: true });
  await mkdir(join(tree, 'empty-dir'));
  await writeFile(join(tree, 'bin', 'tool.sh'), `#!/bin/sh\n${'echo hi\n'.repeat(200)}`);
  await chmod(join(tree, 'bin', 'tool.sh'), 0o755);
  await writeFile(join(tree, 'text.txt'), text);
  await chmod(join(tree, 'text.txt'), 0o640);
  await writeFile(join(tree, 'random.bin'), randomBytes(10_000)); // incompressible: stored
  await writeFile(join(tree, 'big.bin'), Buffer.concat([big, text]));
  await writeFile(join(tree, 'empty.txt'), '');
  await symlink('text.txt', join(tree, 'link-to-text'));
  await symlink('../outside', join(tree, 'bin', 'dangling'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function entriesOf(root: string) {
  return (await selectFiles({ root, paths: ['**'] })).entries;
}

describe('tar.zst (cache and artifact tarzstd)', () => {
  it('is listed and extracted by `zstd -d | tar -x` with contents, modes and symlinks kept', async () => {
    const archive = join(work, 'cache.zip'); // GitLab keeps the cache's name whatever the format
    await writeArchive({ root: tree, entries: await entriesOf(tree), format: 'tar.zst', output: archive });
    const bytes = await readFile(archive);
    expect([...bytes.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);

    const { stdout: listing } = await run('sh', ['-c', `zstd -dc --check '${archive}' | tar -t`]);
    expect(listing.split('\n').filter(Boolean).sort()).toMatchInlineSnapshot(`
      [
        "big.bin",
        "bin/",
        "bin/dangling",
        "bin/tool.sh",
        "empty-dir/",
        "empty.txt",
        "link-to-text",
        "random.bin",
        "text.txt",
      ]
    `);

    const out = join(work, 'tar-out');
    await mkdir(out);
    await run('sh', ['-c', `zstd -dc '${archive}' | tar -x -C '${out}'`]);
    for (const name of ['big.bin', 'bin/tool.sh', 'text.txt', 'random.bin', 'empty.txt']) {
      expect((await readFile(join(out, name))).equals(await readFile(join(tree, name)))).toBe(true);
      expect((await lstat(join(out, name))).mode & 0o777).toBe((await lstat(join(tree, name))).mode & 0o777);
    }
    expect((await lstat(join(out, 'bin', 'tool.sh'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(out, 'text.txt'))).mode & 0o777).toBe(0o640);
    expect(await readlink(join(out, 'link-to-text'))).toBe('text.txt');
    expect(await readlink(join(out, 'bin', 'dangling'))).toBe('../outside');
    expect((await lstat(join(out, 'empty-dir'))).isDirectory()).toBe(true);
  });

  it('gets smaller as the level rises and is far smaller than its compressible input', async () => {
    const entries = (await entriesOf(tree)).filter((entry) => entry.path === 'text.txt');
    const sizes: number[] = [];
    for (const level of [zstdLevel('fastest'), zstdLevel('slowest')]) {
      const output = join(work, `level-${level}.tar.zst`);
      await writeArchive({ root: tree, entries, format: 'tar.zst', level, output });
      sizes.push((await lstat(output)).size);
    }
    expect(sizes[0]).toBeLessThan(text.length / 20);
    expect(sizes[1]).toBeLessThanOrEqual(sizes[0] as number);
  });
});

interface CentralEntry {
  name: string;
  method: number;
  versionNeeded: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  mode: number;
}

/** Reads the central directory the test's own way (no zip library): end record → records. */
function centralDirectory(zip: Buffer): CentralEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: CentralEntry[] = [];
  for (let index = 0; index < count; index++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      versionNeeded: zip.readUInt16LE(at + 6),
      flags: zip.readUInt16LE(at + 8),
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      mode: zip.readUInt32LE(at + 38) >>> 16,
      localOffset: zip.readUInt32LE(at + 42),
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function localData(zip: Buffer, entry: CentralEntry): { method: number; versionNeeded: number; data: Buffer } {
  const at = entry.localOffset;
  expect(zip.readUInt32LE(at)).toBe(0x04034b50);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  return {
    versionNeeded: zip.readUInt16LE(at + 4),
    method: zip.readUInt16LE(at + 8),
    data: zip.subarray(start, start + entry.compressedSize),
  };
}

describe('zipzstd (zip entries compressed with zstd, method 93)', () => {
  it('writes compressible files as method 93 (version 6.3) in local and central headers, the rest stored', async () => {
    const output = join(work, 'artifacts.zip');
    await writeArchive({ root: tree, entries: await entriesOf(tree), format: 'zipzstd', output });
    const zip = await readFile(output);
    const central = centralDirectory(zip);
    expect(
      central.map((entry) => [entry.name, entry.method, entry.versionNeeded, entry.mode.toString(8)]),
    ).toMatchInlineSnapshot(`
        [
          [
            "big.bin",
            93,
            63,
            "100644",
          ],
          [
            "bin/",
            0,
            20,
            "40755",
          ],
          [
            "bin/dangling",
            0,
            20,
            "120777",
          ],
          [
            "bin/tool.sh",
            93,
            63,
            "100755",
          ],
          [
            "empty-dir/",
            0,
            20,
            "40755",
          ],
          [
            "empty.txt",
            0,
            20,
            "100644",
          ],
          [
            "link-to-text",
            0,
            20,
            "120777",
          ],
          [
            "random.bin",
            0,
            20,
            "100644",
          ],
          [
            "text.txt",
            93,
            63,
            "100640",
          ],
        ]
      `);
    for (const entry of central) {
      const local = localData(zip, entry);
      expect(local.method).toBe(entry.method);
      expect(local.versionNeeded).toBe(entry.versionNeeded);
      const original = entry.name.endsWith('/')
        ? Buffer.alloc(0)
        : (entry.mode & 0o170000) === 0o120000
          ? Buffer.from(await readlink(join(tree, entry.name)))
          : await readFile(join(tree, entry.name));
      expect(entry.size).toBe(original.length);
      if (entry.method === 0) {
        expect(local.data.equals(original)).toBe(true);
        continue;
      }
      // Each zstd entry is a standard frame: the zstd CLI and our bounded decoder both restore the original.
      expect((await zstdCli(['-dc', '--check'], local.data)).equals(original)).toBe(true);
      expect((await zstdDecompressBuffer(local.data, entry.size)).equals(original)).toBe(true);
    }
    // The streamed file (data descriptor) still has its sizes in the central directory.
    const streamed = central.find((entry) => entry.name === 'big.bin') as CentralEntry;
    expect(streamed.flags & 0x0008).toBe(0x0008);
    expect(streamed.compressedSize).toBeLessThan(streamed.size);
  });

  it('stores every file at level 0 (GitLab stores zipzstd entries at `fastest`) but still zstd-compresses a streamed one', async () => {
    const output = join(work, 'stored.zip');
    await writeArchive({ root: tree, entries: await entriesOf(tree), format: 'zipzstd', level: 0, output });
    const central = centralDirectory(await readFile(output));
    expect(central.filter((entry) => entry.method !== 0).map((entry) => entry.name)).toEqual(['big.bin']);
  });
});

describe('zstdLevel', () => {
  it('maps GitLab’s level names as GitLab Runner 19.4’s zstd encoder does', () => {
    expect(
      Object.fromEntries(
        ['fastest', 'fast', 'default', 'slow', 'slowest', '', 'SLOW', 'bogus'].map((name) => [name, zstdLevel(name)]),
      ),
    ).toMatchInlineSnapshot(`
      {
        "": 3,
        "SLOW": 7,
        "bogus": 3,
        "default": 3,
        "fast": 1,
        "fastest": 1,
        "slow": 7,
        "slowest": 11,
      }
    `);
    expect(zstdLevel(undefined)).toBe(3);
  });
});
