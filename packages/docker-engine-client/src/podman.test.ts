// The client against Podman's Docker-compatible API (`podman system service`), started by this test on a private
// socket. Podman is not one of the shared test components: without /usr/bin/podman the suite is skipped loudly.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DockerClient } from './client.js';
import { DockerError } from './errors.js';
import { BUSYBOX, sessionLabels } from './testing/daemon.js';
import type { HostConfig } from './types.js';

const PODMAN = '/usr/bin/podman';
// This sandbox refuses the RLIMIT_NOFILE / RLIMIT_NPROC values Podman applies by default; ask for smaller ones.
const LIMITS: HostConfig = {
  Ulimits: [
    { Name: 'nofile', Soft: 1024, Hard: 1024 },
    { Name: 'nproc', Soft: 4096, Hard: 4096 },
  ],
};

if (!existsSync(PODMAN)) {
  process.stderr.write(`\n*** SKIPPING podman tests: ${PODMAN} is not installed (apt-get install podman) ***\n\n`);
}

(existsSync(PODMAN) ? describe : describe.skip)('against podman system service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rk-dec-podman-'));
  const socket = join(dir, 'podman.sock');
  const client = new DockerClient({ host: `unix://${socket}`, timeout: 30_000 });
  const session = sessionLabels();
  let service: ChildProcess | undefined;
  let image = BUSYBOX;

  beforeAll(async () => {
    service = spawn(PODMAN, ['system', 'service', '--time=0', `unix://${socket}`], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if ((await client.system.ping().catch(() => undefined))?.ok) break;
      await sleep(100);
    }
    // Podman has its own image store: copy the test image over (exercises export and load on both daemons)
    const docker = new DockerClient({ host: `unix://${requireComponent('docker').socket}` });
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of await docker.images.export(BUSYBOX)) chunks.push(chunk as Buffer);
      const loaded = await client.images.load(Buffer.concat(chunks));
      image = (
        loaded
          .map((e) => e.stream ?? '')
          .join('')
          .match(/Loaded image: (\S+)/)?.[1] ?? BUSYBOX
      ).trim();
    } finally {
      await docker.close();
    }
  }, 60_000);

  afterAll(async () => {
    const filters = { label: session.filter };
    for (const c of await client.containers.list({ all: true, filters }).catch(() => [])) {
      await client.containers.remove(c.Id, { force: true }).catch(() => {});
    }
    for (const n of await client.networks.list({ filters }).catch(() => []))
      await client.networks.remove(n.Id).catch(() => {});
    await client.volumes.prune({ filters }).catch(() => {});
    await client.images.remove(image, { force: true }).catch(() => {});
    await client.close();
    service?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('ping and version negotiation', async () => {
    const ping = await client.system.ping();
    expect(ping.ok).toBe(true);
    expect(await client.apiVersion()).toBe('1.41');
    expect((await client.system.info()).OSType).toBe('linux');
  });

  test('create, attach with stdin, start, wait, logs, remove', async () => {
    const { Id } = await client.containers.create({
      Image: image,
      Cmd: ['sh'],
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      Labels: session.labels,
      HostConfig: LIMITS,
    });
    const attached = await client.containers.attach(Id, { stdin: true, tty: false });
    await client.containers.start(Id);
    attached.stdin.write('echo hi; echo err >&2; exit 4\n');
    await attached.closeStdin();
    const output = await attached.collect();
    expect([output.stdout.toString(), output.stderr.toString()]).toEqual(['hi\n', 'err\n']);
    expect((await client.containers.wait(Id)).StatusCode).toBe(4);
    const logs = await (await client.containers.logs(Id, { tty: false })).collect();
    expect([logs.stdout.toString(), logs.stderr.toString()]).toEqual(['hi\n', 'err\n']);
    await client.containers.remove(Id);
    const gone = await client.containers.inspect(Id).catch((e: unknown) => e);
    expect(DockerError.isInstance(gone) && gone.code).toBe('DOCKER_NOT_FOUND');
  });

  test('exec and archive on a running container', async () => {
    const { Id } = await client.containers.create({
      Image: image,
      Cmd: ['sleep', '300'],
      Labels: session.labels,
      HostConfig: LIMITS,
    });
    await client.containers.start(Id);
    const exec = await client.exec.create(Id, { Cmd: ['sh', '-c', 'echo exec; exit 2'] });
    expect((await (await client.exec.start(exec.Id)).collect()).stdout.toString()).toBe('exec\n');
    expect((await client.exec.inspect(exec.Id)).ExitCode).toBe(2);
    const { stat, tar } = await client.containers.getArchive(Id, '/etc/hostname');
    tar.resume();
    expect(stat?.name).toBe('hostname');
    await client.containers.remove(Id, { force: true });
  });

  test('networks with MTU and volumes pruned by label', async () => {
    const { Id } = await client.networks.create({
      Name: `rk-dec-podman-${session.filter[0]?.split('=')[1]}`,
      Labels: session.labels,
      Options: { 'com.docker.network.driver.mtu': '1400' },
    });
    // Podman reports the option under its own name
    expect((await client.networks.inspect(Id)).Options).toEqual({ mtu: '1400' });
    await client.networks.remove(Id);
    await client.volumes.create({ Labels: session.labels });
    const pruned = await client.volumes.prune({ filters: { label: session.filter } });
    expect(pruned.VolumesDeleted).toHaveLength(1);
  });
});
