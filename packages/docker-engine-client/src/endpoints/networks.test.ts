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

describeWithComponent('docker', 'network endpoints against dockerd', () => {
  describe.each(transports())('over $name', ({ options }) => {
    const client = new DockerClient(options);
    const session = sessionLabels();
    afterEach(() => sweep(client, session.filter));
    afterAll(() => client.close());

    test('create with options and MTU, inspect, list by label, remove', async () => {
      const name = uniqueName('net');
      const { Id } = await client.networks.create({
        Name: name,
        Labels: session.labels,
        EnableIPv6: false,
        Options: { 'com.docker.network.driver.mtu': '1400' },
      });
      const network = await client.networks.inspect(Id);
      expect({ name: network.Name, driver: network.Driver, options: network.Options }).toEqual({
        name,
        driver: 'bridge',
        options: { 'com.docker.network.driver.mtu': '1400' },
      });
      expect((await client.networks.list({ filters: { label: session.filter } })).map((n) => n.Id)).toEqual([Id]);
      expect((await failure(client.networks.create({ Name: name }))).code).toBe('DOCKER_CONFLICT');
      await client.networks.remove(Id);
      expect((await failure(client.networks.inspect(Id))).code).toBe('DOCKER_NOT_FOUND');
      expect((await failure(client.networks.remove(Id))).code).toBe('DOCKER_NOT_FOUND');
    });

    test('connect with aliases (resolvable from another container), disconnect', async () => {
      const { Id: networkId } = await client.networks.create({ Name: uniqueName('net'), Labels: session.labels });
      const { Id: server } = await client.containers.create({
        Image: BUSYBOX,
        Cmd: ['sleep', '300'],
        Labels: session.labels,
      });
      await client.networks.connect(networkId, server, { Aliases: ['db', 'database'] });
      await client.containers.start(server);
      const aliases = (await client.containers.inspect(server)).NetworkSettings.Networks;
      expect(Object.values(aliases).flatMap((e) => e.Aliases ?? [])).toEqual(
        expect.arrayContaining(['db', 'database']),
      );
      const { Id: probe } = await client.containers.create({
        Image: BUSYBOX,
        Cmd: ['sh', '-c', 'nslookup database >/dev/null 2>&1 && echo resolved'],
        Labels: session.labels,
        HostConfig: { NetworkMode: networkId },
      });
      await client.containers.start(probe);
      await client.containers.wait(probe);
      expect((await (await client.containers.logs(probe)).collect()).stdout.toString()).toBe('resolved\n');
      await client.networks.disconnect(networkId, server, { force: true });
      const after = (await client.containers.inspect(server)).NetworkSettings.Networks;
      expect(Object.values(after).some((e) => e.NetworkID === networkId)).toBe(false);
      expect((await failure(client.networks.disconnect(networkId, 'no-such-container-rk'))).code).toBe(
        'DOCKER_NOT_FOUND',
      );
    });

    test('prune by label', async () => {
      await client.networks.create({ Name: uniqueName('net'), Labels: session.labels });
      const pruned = await client.networks.prune({ filters: { label: session.filter } });
      expect(pruned.NetworksDeleted).toHaveLength(1);
    });
  });
});
