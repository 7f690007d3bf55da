// Archive round trip through the real daemon: a tree with modes, symlinks and a 256 MB generated file goes in
// with PUT and comes back with GET, byte-exact.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describeWithComponent } from '@runnerkit/testkit';
import * as tar from 'tar';
import { afterAll, afterEach, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { BUSYBOX, sessionLabels, sweep, unixOptions } from '../testing/daemon.js';

const MB = 1024 * 1024;
const BIG_MB = 256;

interface Entry {
  path: string;
  type: 'Directory' | 'File' | 'SymbolicLink';
  mode: number;
  linkpath?: string;
  body?: string;
  /** Generated content of this many MiB. */
  generatedMb?: number;
}

const TREE: Entry[] = [
  { path: 'tree/', type: 'Directory', mode: 0o755 },
  { path: 'tree/private/', type: 'Directory', mode: 0o700 },
  { path: 'tree/shared/', type: 'Directory', mode: 0o1777 },
  { path: 'tree/script.sh', type: 'File', mode: 0o755, body: '#!/bin/sh\necho hi\n' },
  { path: 'tree/private/secret.txt', type: 'File', mode: 0o600, body: 'secret\n' },
  { path: 'tree/setuid', type: 'File', mode: 0o4755, body: 'x' },
  { path: 'tree/empty', type: 'File', mode: 0o644, body: '' },
  { path: 'tree/link-relative', type: 'SymbolicLink', mode: 0o777, linkpath: 'script.sh' },
  { path: 'tree/private/link-absolute', type: 'SymbolicLink', mode: 0o777, linkpath: '/etc/hostname' },
  { path: 'tree/dangling', type: 'SymbolicLink', mode: 0o777, linkpath: 'does/not/exist' },
  { path: 'tree/big.bin', type: 'File', mode: 0o640, generatedMb: BIG_MB },
];

/** MiB number `i` of the big file: a fill byte that changes per MiB, and the MiB's index in its first bytes. */
function megabyte(i: number): Buffer {
  const block = Buffer.alloc(MB, (i * 37) % 251);
  block.writeUInt32BE(i, 0);
  return block;
}

function expectedBigHash(): string {
  const hash = createHash('sha256');
  for (let i = 0; i < BIG_MB; i++) hash.update(megabyte(i));
  return hash.digest('hex');
}

/** Streams the tree as a tar, generating the big file on demand (nothing touches the disk). */
function treeTar(): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const entry of TREE) {
      const size = entry.generatedMb ? entry.generatedMb * MB : Buffer.byteLength(entry.body ?? '');
      const header = new tar.Header({
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        size: entry.type === 'File' ? size : 0,
        linkpath: entry.linkpath ?? '',
        uid: 0,
        gid: 0,
        mtime: new Date('2024-01-01T00:00:00Z'),
      });
      header.encode();
      yield header.block as Buffer;
      if (entry.type !== 'File') continue;
      if (entry.generatedMb) {
        for (let i = 0; i < entry.generatedMb; i++) yield megabyte(i);
      } else if (size > 0) {
        yield Buffer.from(entry.body ?? '');
        yield Buffer.alloc((512 - (size % 512)) % 512);
      }
    }
    yield Buffer.alloc(1024);
  }
  return Readable.from(generate());
}

describeWithComponent('docker', 'archive round trip', () => {
  const client = new DockerClient(unixOptions());
  const session = sessionLabels();
  afterEach(() => sweep(client, session.filter));
  afterAll(() => client.close());

  test('a tree with modes, symlinks and a 256 MB file survives PUT then GET', { timeout: 60_000 }, async () => {
    const { Id } = await client.containers.create({ Image: BUSYBOX, Cmd: ['true'], Labels: session.labels });
    await client.containers.putArchive(Id, '/tmp', treeTar());

    const { stat, tar: stream } = await client.containers.getArchive(Id, '/tmp/tree');
    expect(stat).toMatchObject({ name: 'tree' });
    const seen: Record<string, { type: string; mode: number; linkpath?: string; body?: string; size: number }> = {};
    let bigHash = '';
    const parser = new tar.Parser({
      onReadEntry: (entry) => {
        const hash = createHash('sha256');
        const small: Buffer[] = [];
        let size = 0;
        entry.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (entry.path === 'tree/big.bin') hash.update(chunk);
          else small.push(chunk);
        });
        entry.on('end', () => {
          if (entry.path === 'tree/big.bin') bigHash = hash.digest('hex');
          seen[entry.path] = {
            type: entry.type,
            mode: (entry.mode ?? 0) & 0o7777,
            size,
            ...(entry.linkpath ? { linkpath: entry.linkpath } : {}),
            ...(entry.type === 'File' && entry.path !== 'tree/big.bin'
              ? { body: Buffer.concat(small).toString() }
              : {}),
          };
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      parser.on('error', reject);
      parser.on('end', () => resolve());
      stream.pipe(parser);
    });

    const expected = Object.fromEntries(
      TREE.map((e) => [
        e.path,
        {
          type: e.type,
          mode: e.mode,
          size: e.generatedMb ? e.generatedMb * MB : Buffer.byteLength(e.body ?? ''),
          ...(e.linkpath ? { linkpath: e.linkpath } : {}),
          ...(e.type === 'File' && !e.generatedMb ? { body: e.body } : {}),
        },
      ]),
    );
    expect(seen).toEqual(expected);
    expect(bigHash).toBe(expectedBigHash());
  });
});
