// 100 MB of interleaved stdout and stderr from a real container, through attach, hash-checked byte for byte.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, afterEach, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { BUSYBOX, sessionLabels, sweep, unixOptions } from '../testing/daemon.js';

// Each stream: 95 × ("<name> block <i>\n" + `seq 1 90000`) ≈ 50 MB; the block numbers catch reordering.
const BLOCKS = 95;
const BLOCK = Array.from({ length: 90_000 }, (_, i) => `${i + 1}\n`).join('');

function expectedHash(prefix: string): { hash: string; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  for (let i = 1; i <= BLOCKS; i++) {
    const head = `${prefix} block ${i}\n`;
    hash.update(head);
    hash.update(BLOCK);
    bytes += head.length + BLOCK.length;
  }
  return { hash: hash.digest('hex'), bytes };
}

function hashingSink(): { sink: Writable; result: () => { hash: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  return { sink, result: () => ({ hash: hash.digest('hex'), bytes }) };
}

describeWithComponent('docker', 'container output streams', () => {
  const client = new DockerClient(unixOptions());
  const session = sessionLabels();
  afterEach(() => sweep(client, session.filter));
  afterAll(() => client.close());

  test('100 MB of interleaved stdout and stderr arrive complete and in order (attach)', {
    timeout: 60_000,
  }, async () => {
    const { Id } = await client.containers.create({
      Image: BUSYBOX,
      Cmd: [
        'sh',
        '-c',
        `seq 1 90000 > /tmp/b
        (for i in $(seq 1 ${BLOCKS}); do echo "out block $i"; cat /tmp/b; done) &
        (for i in $(seq 1 ${BLOCKS}); do echo "err block $i"; cat /tmp/b; done) >&2
        wait`,
      ],
      Labels: session.labels,
      // attach does not need the log driver; json-file would also cap dockerd at a few MB/s here
      HostConfig: { LogConfig: { Type: 'none' } },
    });
    const attached = await client.containers.attach(Id, { tty: false });
    await client.containers.start(Id);
    const out = hashingSink();
    const err = hashingSink();
    let switches = 0;
    let last = '';
    for await (const piece of attached) {
      if (piece.stream !== last) switches++;
      last = piece.stream;
      (piece.stream === 'stderr' ? err : out).sink.write(piece.data);
    }
    expect((await client.containers.wait(Id)).StatusCode).toBe(0);
    expect(out.result()).toEqual(expectedHash('out'));
    expect(err.result()).toEqual(expectedHash('err'));
    // the two writers really were interleaved on the wire
    expect(switches).toBeGreaterThan(10);
  });
});
