import { Readable } from 'node:stream';
import { describeWithComponent } from '@runnerkit/testkit';
import * as tar from 'tar';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { DockerError } from '../errors.js';
import { BUSYBOX, sessionLabels, sweep, transports, uniqueName } from '../testing/daemon.js';
import type { ContainerCreateRequest } from '../types.js';

async function failure(promise: Promise<unknown>): Promise<DockerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!DockerError.isInstance(error)) throw new Error(`expected a DockerError, got ${String(error)}`);
  return error;
}

async function tarEntries(stream: Readable): Promise<Record<string, { type: string; mode: number; body: string }>> {
  const entries: Record<string, { type: string; mode: number; body: string }> = {};
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        entries[entry.path] = {
          type: entry.type,
          mode: (entry.mode ?? 0) & 0o7777,
          body: Buffer.concat(chunks).toString(),
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
  return entries;
}

describeWithComponent('docker', 'container endpoints against dockerd', () => {
  describe.each(transports())('over $name', ({ options }) => {
    const client = new DockerClient(options);
    const session = sessionLabels();
    afterEach(() => sweep(client, session.filter));
    afterAll(() => client.close());

    const create = (config: Omit<ContainerCreateRequest, 'Image'> & { Image?: string }, name?: string) =>
      client.containers.create(
        { Image: BUSYBOX, ...config, Labels: { ...session.labels, ...config.Labels } },
        name ? { name } : {},
      );

    test('create with a full HostConfig and NetworkingConfig; the daemon applies them', async () => {
      const network = await client.networks.create({ Name: uniqueName('net'), Labels: session.labels });
      const volume = await client.volumes.create({ Name: uniqueName('vol'), Labels: session.labels });
      const networkName = (await client.networks.inspect(network.Id)).Name;
      const { Id } = await create({
        Cmd: [
          'sh',
          '-c',
          'hostname; id -u; ulimit -n; grep example.test /etc/hosts; ls -d /data /scratch; cat /etc/resolv.conf | grep -c search; echo "$FOO"',
        ],
        Env: ['FOO=bar baz'],
        Hostname: 'rk-host',
        WorkingDir: '/tmp',
        User: '0',
        HostConfig: {
          Memory: 64 * 1024 * 1024,
          MemorySwap: 128 * 1024 * 1024,
          CpuShares: 512,
          NanoCpus: 500_000_000,
          PidsLimit: 100,
          OomScoreAdj: 100,
          Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
          Binds: [`${volume.Name}:/data`],
          Tmpfs: { '/scratch': 'rw,size=1m' },
          ExtraHosts: ['example.test:127.0.0.2'],
          Dns: ['127.0.0.53'],
          DnsSearch: ['example.test'],
          CapAdd: ['NET_ADMIN'],
          CapDrop: ['MKNOD'],
          ShmSize: 8 * 1024 * 1024,
          SecurityOpt: ['no-new-privileges'],
          LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
          RestartPolicy: { Name: 'no' },
          Init: true,
          NetworkMode: networkName,
        },
        NetworkingConfig: { EndpointsConfig: { [networkName]: { Aliases: ['build', 'rk-alias'] } } },
      });
      const inspected = await client.containers.inspect(Id);
      expect(inspected.HostConfig).toMatchObject({
        Memory: 64 * 1024 * 1024,
        CpuShares: 512,
        NanoCpus: 500_000_000,
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
        Binds: [`${volume.Name}:/data`],
        ExtraHosts: ['example.test:127.0.0.2'],
        CapAdd: ['NET_ADMIN'],
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
        Init: true,
        NetworkMode: networkName,
      });
      expect(inspected.NetworkSettings.Networks[networkName]?.Aliases).toEqual(
        expect.arrayContaining(['build', 'rk-alias']),
      );
      expect(await client.containers.start(Id)).toBe(true);
      expect(await client.containers.wait(Id)).toEqual({ StatusCode: 0, Error: null });
      const { stdout } = await (await client.containers.logs(Id)).collect();
      expect(stdout.toString().split('\n')).toEqual([
        'rk-host',
        '0',
        '1024',
        '127.0.0.2\texample.test',
        '/data',
        '/scratch',
        '1',
        'bar baz',
        '',
      ]);
    });

    test('attach with stdin drives a shell; wait returns its exit code', async () => {
      const { Id } = await create({
        Cmd: ['sh'],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: true,
        StdinOnce: true,
      });
      const session = await client.containers.attach(Id, { stdin: true, tty: false });
      await client.containers.start(Id);
      session.stdin.write('echo $((6 * 7))\n');
      session.stdin.write('echo oops >&2\n');
      session.stdin.write('cd /tmp; X=5\n');
      session.stdin.write('echo "$X $(pwd)"\n');
      session.stdin.write('exit 3\n');
      await session.closeStdin();
      const output = await session.collect();
      expect({ stdout: output.stdout.toString(), stderr: output.stderr.toString() }).toEqual({
        stdout: '42\n5 /tmp\n',
        stderr: 'oops\n',
      });
      expect((await client.containers.wait(Id)).StatusCode).toBe(3);
    });

    test('attach to a TTY container gives the raw stream', async () => {
      const { Id } = await create({ Cmd: ['sh', '-c', 'printf "tty:%s" "$(tty)"'], Tty: true });
      const session = await client.containers.attach(Id, { tty: true });
      await client.containers.start(Id);
      const output = await session.collect();
      expect(output.stdout.toString()).toBe('tty:/dev/pts/0');
      await client.containers.wait(Id);
    });

    test('logs with follow stream until the container exits', async () => {
      const { Id } = await create({
        Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; sleep 0.05; done'],
      });
      await client.containers.start(Id);
      const logs = await client.containers.logs(Id, { follow: true, tty: false });
      const { stdout, stderr } = logs.demultiplex();
      const read = async (r: Readable) => {
        const parts: Buffer[] = [];
        for await (const c of r) parts.push(c as Buffer);
        return Buffer.concat(parts).toString();
      };
      expect(await Promise.all([read(stdout), read(stderr)])).toEqual([
        'out 1\nout 2\nout 3\nout 4\nout 5\n',
        'err 1\nerr 2\nerr 3\nerr 4\nerr 5\n',
      ]);
      const timestamped = await (await client.containers.logs(Id, { timestamps: true, stderr: false })).collect();
      const lines = timestamped.stdout.toString().trimEnd().split('\n');
      expect(lines).toHaveLength(5);
      expect(lines[4]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z out 5$/);
    });

    test('start / stop / kill / remove report state changes and typed conflicts', async () => {
      const { Id } = await create({ Cmd: ['sleep', '300'] });
      expect(await client.containers.start(Id)).toBe(true);
      expect(await client.containers.start(Id)).toBe(false);
      expect((await client.containers.inspect(Id)).State.Running).toBe(true);
      expect((await failure(client.containers.remove(Id))).code).toBe('DOCKER_CONFLICT');
      await client.containers.kill(Id, { killSignal: 'SIGKILL' });
      expect((await client.containers.wait(Id)).StatusCode).toBe(137);
      expect((await failure(client.containers.kill(Id))).code).toBe('DOCKER_CONFLICT');
      expect(await client.containers.stop(Id, { t: 1 })).toBe(false);
      await client.containers.start(Id);
      expect(await client.containers.stop(Id, { t: 1 })).toBe(true);
      await client.containers.remove(Id, { volumes: true });
      const gone = await failure(client.containers.inspect(Id));
      expect([gone.code, gone.statusCode, gone.daemonMessage]).toEqual([
        'DOCKER_NOT_FOUND',
        404,
        `No such container: ${Id}`,
      ]);
      expect((await failure(client.containers.remove(Id))).code).toBe('DOCKER_NOT_FOUND');
    });

    test('per-call timeout and AbortSignal end waits, follows and attached sessions', async () => {
      const { Id } = await create({ Cmd: ['sleep', '300'] });
      await client.containers.start(Id);
      const timedOut = await failure(client.containers.wait(Id, { timeout: 200 }));
      expect([timedOut.code, timedOut.message]).toEqual([
        'DOCKER_TIMEOUT',
        `[POST] /v1.41/containers/${Id}/wait: no complete answer within 200 ms`,
      ]);
      const controller = new AbortController();
      const follow = await client.containers.logs(Id, { follow: true, signal: controller.signal });
      const attached = await client.containers.attach(Id, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      const [followError, attachError] = await Promise.all([failure(follow.collect()), failure(attached.collect())]);
      expect([followError.code, attachError.code]).toEqual(['DOCKER_ABORTED', 'DOCKER_ABORTED']);
      expect((await client.containers.inspect(Id)).State.Running).toBe(true);
    });

    test('create errors are typed: missing image, name in use, bad parameter', async () => {
      const missing = await failure(create({ Image: 'runnerkit-test/no-such-image:nope' }));
      expect([missing.code, missing.daemonMessage]).toEqual([
        'DOCKER_IMAGE_NOT_FOUND',
        'No such image: runnerkit-test/no-such-image:nope',
      ]);
      const name = uniqueName('dup');
      await create({}, name);
      const dup = await failure(create({}, name));
      expect(dup.code).toBe('DOCKER_CONFLICT');
      expect(dup.daemonMessage).toContain(`The container name "/${name}" is already in use`);
      const bad = await failure(create({}, 'bad name!'));
      expect(bad.code).toBe('DOCKER_BAD_PARAMETER');
      expect(bad.daemonMessage).toContain('Invalid container name (bad name!)');
    });

    test('list and prune by label filter', async () => {
      const a = await create({ Labels: { 'rk.which': 'a' } });
      await create({ Labels: { 'rk.which': 'b' } });
      const listed = await client.containers.list({ all: true, filters: { label: [...session.filter, 'rk.which=a'] } });
      expect(listed.map((c) => c.Id)).toEqual([a.Id]);
      const pruned = await client.containers.prune({ filters: { label: session.filter } });
      expect(pruned.ContainersDeleted).toHaveLength(2);
      expect(await client.containers.list({ all: true, filters: { label: session.filter } })).toEqual([]);
    });

    test('archive PUT, HEAD and GET on a created container', async () => {
      const { Id } = await create({ Cmd: ['true'] });
      const entries = [
        new tar.Header({ path: 'dir/', type: 'Directory', mode: 0o750, mtime: new Date(0) }),
        new tar.Header({ path: 'dir/run.sh', type: 'File', mode: 0o755, size: 10, mtime: new Date(0) }),
        new tar.Header({ path: 'dir/link', type: 'SymbolicLink', linkpath: 'run.sh', mode: 0o777, mtime: new Date(0) }),
      ];
      const chunks: Buffer[] = [];
      for (const header of entries) {
        header.encode();
        chunks.push(header.block as Buffer);
        if (header.type === 'File') chunks.push(Buffer.concat([Buffer.from('echo hi!\n\n'), Buffer.alloc(502)]));
      }
      chunks.push(Buffer.alloc(1024));
      await client.containers.putArchive(Id, '/tmp', Buffer.concat(chunks));
      const stat = await client.containers.statPath(Id, '/tmp/dir/link');
      expect(stat).toMatchObject({ name: 'link', linkTarget: '/tmp/dir/run.sh' });
      const { stat: dirStat, tar: stream } = await client.containers.getArchive(Id, '/tmp/dir');
      expect(dirStat?.name).toBe('dir');
      expect(await tarEntries(stream)).toEqual({
        'dir/': { type: 'Directory', mode: 0o750, body: '' },
        'dir/run.sh': { type: 'File', mode: 0o755, body: 'echo hi!\n\n' },
        'dir/link': { type: 'SymbolicLink', mode: 0o777, body: '' },
      });
      const missing = await failure(client.containers.getArchive(Id, '/no/such/path'));
      expect(missing.code).toBe('DOCKER_NOT_FOUND');
      const missingDir = await failure(
        client.containers.putArchive(Id, '/no/such/dir', Readable.from([Buffer.alloc(1024)])),
      );
      expect(missingDir.code).toBe('DOCKER_NOT_FOUND');
    });
  });
});
