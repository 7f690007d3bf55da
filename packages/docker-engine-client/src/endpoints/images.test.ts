import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describeWithComponent } from '@runnerkit/testkit';
import * as tar from 'tar';
import { afterAll, describe, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { DockerError } from '../errors.js';
import { BUSYBOX, sessionLabels, transports, uniqueName } from '../testing/daemon.js';
import type { ProgressEvent } from '../types.js';

async function failure(promise: Promise<unknown>): Promise<DockerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!DockerError.isInstance(error)) throw new Error(`expected a DockerError, got ${String(error)}`);
  return error;
}

describeWithComponent('registry', 'image endpoints against dockerd', (registry) => {
  describe.each(transports())('over $name', ({ name: transport, options }) => {
    const client = new DockerClient(options);
    const session = sessionLabels();
    const created: string[] = [];
    afterAll(async () => {
      for (const ref of created) await client.images.remove(ref, { force: true }).catch(() => {});
      await client.close();
    });

    test('inspect an image; an unknown one is image-not-found with the daemon message', async () => {
      const image = await client.images.inspect(BUSYBOX);
      expect(image.RepoTags).toContain(BUSYBOX);
      const error = await failure(client.images.inspect('runnerkit-test/no-such-image:nope'));
      expect({ code: error.code, status: error.statusCode, message: error.message }).toEqual({
        code: 'DOCKER_IMAGE_NOT_FOUND',
        status: 404,
        message:
          '[GET] /v1.41/images/runnerkit-test/no-such-image:nope/json: 404 no such image: runnerkit-test/no-such-image:nope: No such image: runnerkit-test/no-such-image:nope',
      });
      expect(await client.images.find('runnerkit-test/no-such-image:nope')).toBeUndefined();
    });

    test('tag, list by reference, remove', async () => {
      const repo = uniqueName('tagged');
      await client.images.tag(BUSYBOX, repo, 'v1');
      created.push(`${repo}:v1`);
      const listed = await client.images.list({ filters: { reference: [`${repo}:v1`] } });
      expect(listed.map((i) => i.RepoTags)).toEqual([expect.arrayContaining([`${repo}:v1`])]);
      expect(await client.images.remove(`${repo}:v1`)).toEqual([{ Untagged: `${repo}:v1` }]);
      expect((await failure(client.images.remove(`${repo}:v1`))).code).toBe('DOCKER_IMAGE_NOT_FOUND');
    });

    test('push and pull with X-Registry-Auth, with progress events', async () => {
      const auth = {
        username: registry.auth.username,
        password: registry.auth.password,
        serveraddress: registry.auth.address,
      };
      const ref = `${registry.auth.address}/rk-dec-test/busybox:${transport}`;
      await client.images.tag(BUSYBOX, `${registry.auth.address}/rk-dec-test/busybox`, transport);
      created.push(ref);
      await client.images.push(ref, { auth });
      await client.images.remove(ref);
      const events: ProgressEvent[] = [];
      const status = await client.images.pull(ref, { auth, onProgress: (e) => events.push(e) });
      expect(events.length).toBeGreaterThan(0);
      expect(status.map((e) => e.status).join('\n')).toMatch(
        /Status: (Downloaded newer image|Image is up to date) for/,
      );
      expect((await client.images.inspect(ref)).RepoTags).toContain(ref);
      await client.images.remove(ref);
    });

    test('pull without or with wrong credentials is refused with a typed error', async () => {
      const ref = `${registry.auth.address}/runnerkit-test/busybox:latest`;
      const anonymous = await failure(client.images.pull(ref));
      const wrong = await failure(
        client.images.pull(ref, {
          auth: { username: 'rkuser', password: 'wrong', serveraddress: registry.auth.address },
        }),
      );
      expect([anonymous.code, wrong.code]).toEqual(['DOCKER_UNAUTHORIZED', 'DOCKER_UNAUTHORIZED']);
      expect(wrong.daemonMessage).toMatch(/unauthorized|authentication required/);
    });

    test('pull of an unknown image is image-not-found', async () => {
      const error = await failure(client.images.pull(`${registry.plain}/runnerkit-test/no-such-image:nope`));
      expect(error.code).toBe('DOCKER_IMAGE_NOT_FOUND');
      expect(error.daemonMessage).toMatch(/not found|manifest unknown/);
    });

    test('pullStream yields progress lines as they come', async () => {
      const ref = `${registry.plain}/runnerkit-test/busybox:latest`;
      const existed = (await client.images.find(ref)) !== undefined;
      const lines: ProgressEvent[] = [];
      for await (const event of client.images.pullStream(ref)) lines.push(event);
      expect(lines.at(-1)?.status).toMatch(/^Status: /);
      if (!existed) await client.images.remove(ref).catch(() => {});
    });

    test('import a labelled image, list by label, export and load it back', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rk-dec-import-'));
      try {
        writeFileSync(join(dir, 'hello.txt'), 'hello\n');
        const rootfs = tar.create({ cwd: dir, portable: true }, ['hello.txt']) as unknown as Readable;
        const repo = uniqueName('imported');
        const label = session.filter[0] as string;
        created.push(`${repo}:v1`);
        await client.images.import(Readable.from(rootfs), {
          repo,
          tag: 'v1',
          changes: [`LABEL ${label}`, 'CMD ["/hello.txt"]'],
        });
        const listed = await client.images.list({ filters: { label: [label] } });
        expect(listed.map((i) => i.RepoTags)).toEqual([[`${repo}:v1`]]);
        const saved: Buffer[] = [];
        for await (const chunk of await client.images.export(`${repo}:v1`)) saved.push(chunk as Buffer);
        await client.images.remove(`${repo}:v1`);
        expect(await client.images.list({ filters: { label: [label] } })).toEqual([]);
        const loaded = await client.images.load(Buffer.concat(saved));
        expect(loaded.map((e) => e.stream ?? e.status).join('')).toContain(`Loaded image: ${repo}:v1`);
        expect((await client.images.inspect(`${repo}:v1`)).Config?.Labels).toEqual({
          'runnerkit.test.session': session.labels['runnerkit.test.session'],
        });
        await client.images.remove(`${repo}:v1`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
