import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { DockerError } from '../errors.js';
import { BUSYBOX, sessionLabels, sweep, transports, uniqueName } from '../testing/daemon.js';

async function failure(promise: Promise<unknown>): Promise<DockerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!DockerError.isInstance(error)) throw new Error(`expected a DockerError, got ${String(error)}`);
  return error;
}

describeWithComponent('docker', 'volume endpoints against dockerd', () => {
  describe.each(transports())('over $name', ({ options }) => {
    const client = new DockerClient(options);
    const session = sessionLabels();
    afterEach(() => sweep(client, session.filter));
    afterAll(() => client.close());

    test('create with labels and driver options, inspect, list by label, remove', async () => {
      const name = uniqueName('vol');
      const created = await client.volumes.create({
        Name: name,
        Driver: 'local',
        DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' },
        Labels: { ...session.labels, 'rk.kind': 'cache' },
      });
      expect(created.Name).toBe(name);
      const volume = await client.volumes.inspect(name);
      expect({ driver: volume.Driver, options: volume.Options, kind: volume.Labels?.['rk.kind'] }).toEqual({
        driver: 'local',
        options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' },
        kind: 'cache',
      });
      expect(
        (await client.volumes.list({ filters: { label: [...session.filter, 'rk.kind=cache'] } })).map((v) => v.Name),
      ).toEqual([name]);
      await client.volumes.remove(name);
      expect((await failure(client.volumes.inspect(name))).code).toBe('DOCKER_NOT_FOUND');
      expect((await failure(client.volumes.remove(name))).code).toBe('DOCKER_NOT_FOUND');
    });

    test('a volume in use cannot be removed (conflict)', async () => {
      const name = uniqueName('vol');
      await client.volumes.create({ Name: name, Labels: session.labels });
      await client.containers.create({
        Image: BUSYBOX,
        Labels: session.labels,
        HostConfig: { Binds: [`${name}:/data`] },
      });
      const error = await failure(client.volumes.remove(name));
      expect(error.code).toBe('DOCKER_CONFLICT');
      expect(error.daemonMessage).toContain('volume is in use');
    });

    test('prune by label removes only the labelled, unused volumes', async () => {
      const ours = [uniqueName('vol'), uniqueName('vol')];
      for (const name of ours) await client.volumes.create({ Name: name, Labels: session.labels });
      const pruned = await client.volumes.prune({ filters: { label: session.filter } });
      expect([...(pruned.VolumesDeleted ?? [])].sort()).toEqual([...ours].sort());
    });
  });
});
