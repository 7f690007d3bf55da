import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, describe, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { DockerError } from '../errors.js';
import { sessionLabels, sweep, transports, uniqueName } from '../testing/daemon.js';

describeWithComponent('docker', 'system endpoints against dockerd', (docker) => {
  describe.each(transports())('over $name', ({ options }) => {
    const client = new DockerClient(options);
    const session = sessionLabels();
    afterAll(async () => {
      await sweep(client, session.filter);
      await client.close();
    });

    test('ping answers OK and negotiation settles on 1.41', async () => {
      expect(await client.system.ping()).toEqual({ ok: true, apiVersion: '1.41' });
      expect(await client.apiVersion()).toBe('1.41');
    });

    test('version and info describe a linux daemon', async () => {
      const version = await client.system.version();
      expect(version.ApiVersion).toBe('1.41');
      expect(version.Os).toBe('linux');
      const info = await client.system.info();
      expect(info.OSType).toBe('linux');
      expect(typeof info.ServerVersion).toBe('string');
    });

    test('system df lists images', async () => {
      const df = await client.system.df();
      expect(df.Images.some((image) => image.RepoTags?.includes('runnerkit-test/busybox:latest'))).toBe(true);
    });

    test('events stream what happens, filtered, until aborted', async () => {
      const controller = new AbortController();
      const since = Math.floor(Date.now() / 1000) - 1;
      const seen: string[] = [];
      const name = uniqueName('events');
      const guard = setTimeout(() => controller.abort(), 10_000);
      const reading = (async () => {
        try {
          for await (const event of client.system.events({
            since,
            // volume events carry no labels in their attributes: filter by name
            filters: { type: ['volume'], volume: [name] },
            signal: controller.signal,
          })) {
            seen.push(`${event.Type} ${event.Action} ${event.Actor.ID}`);
            if (event.Action === 'destroy') controller.abort();
          }
        } catch (error) {
          if (!(DockerError.isInstance(error) && error.code === 'DOCKER_ABORTED')) throw error;
        }
      })();
      await client.volumes.create({ Name: name, Labels: session.labels });
      await client.volumes.remove(name);
      await reading;
      clearTimeout(guard);
      expect(seen).toEqual([`volume create ${name}`, `volume destroy ${name}`]);
    });
  });

  describe('mutual TLS', () => {
    const tls = transports().find((t) => t.name === 'tls');
    test('is refused without a client certificate', async () => {
      const client = new DockerClient({ host: docker.tls.host, tls: { ca: tls?.options.tls?.ca }, timeout: 5_000 });
      try {
        const error = await client.system.ping().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(DockerError.isInstance(error) && error.code).toBe('DOCKER_DAEMON_UNAVAILABLE');
      } finally {
        await client.close();
      }
    });

    test('refuses a daemon whose certificate is not signed by the given CA', async () => {
      const client = new DockerClient({
        host: docker.tls.host,
        tls: {
          ca: readFileSync(join(docker.tls.certPath, 'cert.pem')),
          cert: tls?.options.tls?.cert,
          key: tls?.options.tls?.key,
        },
        timeout: 5_000,
      });
      try {
        const error = await client.system.ping().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(DockerError.isInstance(error) && error.code).toBe('DOCKER_DAEMON_UNAVAILABLE');
      } finally {
        await client.close();
      }
    });
  });
});
