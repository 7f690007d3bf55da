// Mutated and hostile archives: extractArchive writes only inside its target and fails only with ArchiveError.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CacheAdapterError } from '@runnerkit/cache-adapters';
import { extractArchive, writeArchive } from '@runnerkit/cache-adapters/archive';
import fc from 'fast-check';
import { Header } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushFuzzCases, fuzzCase, fuzzParameters } from '../support/fuzz.js';

let base = '';
let target = '';
let outside = '';
const valid: { zip: Buffer; tar: Buffer } = { zip: Buffer.alloc(0), tar: Buffer.alloc(0) };

async function archiveOf(source: string, format: 'zip' | 'tar.gz'): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await writeArchive({
    root: source,
    format,
    output: sink,
    entries: [
      { path: 'dir', type: 'directory' },
      { path: 'dir/a.txt', type: 'file' },
      { path: 'dir/b.bin', type: 'file' },
      { path: 'link', type: 'symlink' },
      { path: 'top.txt', type: 'file' },
    ],
  });
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'rk-archive-fuzz-')));
  target = join(base, 'target');
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'canary.txt'), 'canary');
  const source = join(base, 'source');
  await mkdir(join(source, 'dir'), { recursive: true });
  await writeFile(join(source, 'dir', 'a.txt'), 'hello '.repeat(50));
  await writeFile(join(source, 'dir', 'b.bin'), Buffer.from(Array.from({ length: 700 }, (_, index) => index % 251)));
  await writeFile(join(source, 'top.txt'), 'top');
  await symlink('dir/a.txt', join(source, 'link'));
  valid.zip = await archiveOf(source, 'zip');
  valid.tar = gunzipSync(await archiveOf(source, 'tar.gz'));
  await rm(source, { recursive: true });
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
  flushFuzzCases();
});

/** Everything in `base` except the target: it must stay exactly the canary. */
async function outsideTarget(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(base, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath, entry.name);
    if (full === target || full.startsWith(target + sep)) continue;
    found.push(relative(base, full));
  }
  return found.sort();
}

async function checkTarget(): Promise<void> {
  let entries: string[] = [];
  try {
    entries = (await readdir(target, { recursive: true })).map((name) => join(target, name));
  } catch {
    return;
  }
  for (const path of entries) {
    const stat = await lstat(path);
    expect(stat.isFile() || stat.isDirectory() || stat.isSymbolicLink(), `${path} is a device, socket or FIFO`).toBe(
      true,
    );
    if (stat.isSymbolicLink()) {
      const pointsTo = resolve(join(path, '..'), await readlink(path));
      expect(pointsTo === target || pointsTo.startsWith(target + sep), `${path} → ${pointsTo}`).toBe(true);
    }
  }
}

async function extractCase(bytes: Buffer, format: 'auto' | 'zip' | 'tar.gz'): Promise<void> {
  fuzzCase();
  await rm(target, { recursive: true, force: true });
  const file = join(base, 'case.archive');
  await writeFile(file, bytes);
  try {
    await extractArchive({ file, target, format, maxEntries: 200, maxBytes: 1_000_000 });
  } catch (error) {
    expect(CacheAdapterError.isInstance(error), String((error as Error)?.stack ?? error)).toBe(true);
    expect((error as CacheAdapterError).code).toMatch(/^ARCHIVE_/);
  } finally {
    await rm(file, { force: true });
  }
  expect(await outsideTarget()).toEqual(['outside', 'outside/canary.txt']);
  expect(await readFile(join(outside, 'canary.txt'), 'utf8')).toBe('canary');
  await checkTarget();
}

const byteEdits = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  ),
  { minLength: 1, maxLength: 8 },
);

type ByteEdit = { kind: 'set' | 'truncate' | 'insert'; at: number; value?: number; bytes?: Uint8Array };

function edit(source: Buffer, edits: readonly ByteEdit[]): Buffer {
  let bytes = Buffer.from(source);
  for (const change of edits) {
    const at = change.at % (bytes.length + 1);
    if (change.kind === 'set' && at < bytes.length) bytes[at] = change.value ?? 0;
    else if (change.kind === 'truncate') bytes = bytes.subarray(0, at);
    else if (change.kind === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(change.bytes ?? []), bytes.subarray(at)]);
  }
  return bytes;
}

const hostileName = fc.oneof(
  fc.constantFrom(
    '../evil',
    '../../evil',
    'a/../../evil',
    './ok',
    'a//b',
    '..',
    '.',
    '',
    'link/evil',
    'sub/../../outside/canary.txt',
    '..\\evil',
    'a/\u0000b',
  ),
  fc.constant('ABSOLUTE'),
  fc.string({ maxLength: 12 }),
  fc.array(fc.constantFrom('a', '..', '.', 'b'), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
);

const tarEntry = fc.record({
  path: hostileName,
  type: fc.constantFrom('File', 'File', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', 'FIFO', 'BlockDevice'),
  linkpath: hostileName,
  data: fc.string({ maxLength: 30 }),
  size: fc.option(fc.nat({ max: 5_000 }), { nil: undefined }),
});

function hostileTar(
  entries: ReadonlyArray<{ path: string; type: string; linkpath: string; data: string; size: number | undefined }>,
): Buffer {
  const blocks: Buffer[] = [];
  const absolute = (name: string) => (name === 'ABSOLUTE' ? join(outside, 'evil') : name);
  for (const entry of entries) {
    const data = Buffer.from(entry.type === 'File' ? entry.data : '');
    const block = Buffer.alloc(512);
    try {
      new Header({
        path: absolute(entry.path) || 'x',
        type: entry.type as 'File',
        size: entry.size ?? data.length,
        mode: 0o4755,
        mtime: new Date('2026-01-01T00:00:00Z'),
        linkpath: absolute(entry.linkpath),
      }).encode(block, 0);
    } catch {
      continue;
    }
    blocks.push(block);
    if (data.length > 0) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

describe('archives: extractArchive into a temporary directory', () => {
  it('the hostile generator does reach the guards: ../, absolute names and links out are refused', async () => {
    const refused = async (entries: Parameters<typeof hostileTar>[0], code: string) => {
      const file = join(base, 'known.tar.gz');
      await writeFile(file, hostileTar(entries));
      await expect(extractArchive({ file, target })).rejects.toMatchObject({ code });
      await rm(file);
      expect(await outsideTarget()).toEqual(['outside', 'outside/canary.txt']);
    };
    const entry = { type: 'File', linkpath: '', data: 'x', size: undefined };
    await refused([{ ...entry, path: '../evil' }], 'ARCHIVE_PATH_TRAVERSAL');
    await refused([{ ...entry, path: 'ABSOLUTE' }], 'ARCHIVE_PATH_TRAVERSAL');
    await refused([{ ...entry, type: 'SymbolicLink', path: 'l', linkpath: 'ABSOLUTE' }], 'ARCHIVE_LINK_ESCAPE');
    // a size field in base-256 form whose first byte is neither 0x80 nor 0xff: node-tar's decoder throws a plain
    // Error ("invalid base256 encoding"); found by the byte fuzzer, now ARCHIVE_CORRUPT
    const header = Buffer.alloc(512);
    new Header({ path: 'a.txt', type: 'File', size: 1, mode: 0o644, mtime: new Date(0) }).encode(header, 0);
    header.fill(0, 124, 136);
    header[124] = 0x81;
    let sum = 0;
    for (let index = 0; index < 512; index += 1) sum += index >= 148 && index < 156 ? 32 : (header[index] as number);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const file = join(base, 'base256.tar.gz');
    await writeFile(file, gzipSync(Buffer.concat([header, Buffer.alloc(1536)])));
    await expect(extractArchive({ file, target })).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPT' });
    await rm(file);
  });

  it('byte-mutated zip and tar.gz archives extract or fail with ArchiveError, writing nothing outside', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('zip', 'tar.gz', 'tar-raw'),
        byteEdits,
        fc.constantFrom('auto', 'zip', 'tar.gz'),
        async (kind, edits, format) => {
          const bytes =
            kind === 'zip'
              ? edit(valid.zip, edits)
              : kind === 'tar.gz'
                ? edit(gzipSync(valid.tar), edits)
                : gzipSync(edit(valid.tar, edits));
          await extractCase(bytes, format as 'auto');
        },
      ),
      fuzzParameters(250, 5_000),
    );
  });

  it('hand-made hostile tar entries (traversal, absolute names, links out, devices) never escape the target', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tarEntry, { minLength: 1, maxLength: 5 }), async (entries) => {
        await extractCase(hostileTar(entries), 'tar.gz');
      }),
      fuzzParameters(300, 5_000),
    );
  });
});
