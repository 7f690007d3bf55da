import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerClient, type DockerClient } from '@runnerkit/docker-engine-client';
import { describeWithComponent } from '@runnerkit/testkit';
import { Command } from 'commander';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupFilters, MANAGED_FILTER, parseFilterFlags, registerCleanupCommand } from './cleanup.js';
import type { ConfigCommandIo } from './config.js';

it('parses clear-docker-cache filter flags', () => {
  expect(parseFilterFlags(`${MANAGED_FILTER},label=x=1,until=24h`)).toEqual({
    label: ['com.gitlab.gitlab-runner.managed=true', 'x=1'],
    until: ['24h'],
  });
  expect(cleanupFilters({ FILTER_FLAG: 'label=a' }).containers).toEqual({ label: ['a'] });
  expect(cleanupFilters({}).networks).toEqual({ label: ['com.gitlab.gitlab-runner.managed=true'] });
});

describeWithComponent('docker', 'runnerkit cleanup against dockerd', (component) => {
  const session = `runnerkit-cleanup-test-${process.pid}-${Date.now()}`;
  const sessionLabel = `runnerkit.test.session=${session}`;
  const managed = { 'com.gitlab.gitlab-runner.managed': 'true', 'runnerkit.test.session': session };
  const unmanaged = { 'runnerkit.test.session': session };
  let docker: DockerClient;
  const created = {
    containers: [] as string[],
    volumes: [] as string[],
    networks: [] as string[],
    images: [] as string[],
  };

  beforeAll(async () => {
    docker = createDockerClient({ host: `unix://${component.socket}` });
    // A stopped managed container, a managed and an unmanaged volume, a managed network, a managed image.
    const container = await docker.containers.create(
      { Image: 'runnerkit-test/busybox:latest', Cmd: ['true'], Labels: managed },
      { name: `${session}-c` },
    );
    created.containers.push(container.Id);
    for (const [name, labels] of [
      [`${session}-managed`, managed],
      [`${session}-unmanaged`, unmanaged],
    ] as const) {
      await docker.volumes.create({ Name: name, Labels: labels });
      created.volumes.push(name);
    }
    const network = await docker.networks.create({ Name: `${session}-net`, Labels: managed });
    created.networks.push(network.Id);
    const root = mkdtempSync(join(tmpdir(), 'runnerkit-cleanup-image-'));
    writeFileSync(join(root, 'file'), 'x');
    const tar = execFileSync('tar', ['-C', root, '-c', 'file']);
    rmSync(root, { recursive: true, force: true });
    const repo = `runnerkit-cleanup-test/${session}`;
    await docker.images.import(tar, {
      repo,
      tag: 'latest',
      changes: ['LABEL com.gitlab.gitlab-runner.managed=true', `LABEL runnerkit.test.session=${session}`],
    });
    created.images.push(`${repo}:latest`);
  });

  afterAll(async () => {
    for (const id of created.containers) await docker.containers.remove(id, { force: true }).catch(() => undefined);
    for (const name of created.volumes) await docker.volumes.remove(name, { force: true }).catch(() => undefined);
    for (const id of created.networks) await docker.networks.remove(id).catch(() => undefined);
    for (const name of created.images) await docker.images.remove(name, { force: true }).catch(() => undefined);
    await docker.close();
  });

  async function cleanup(args: string[]) {
    let stdout = '';
    let stderr = '';
    let exitCode: number | undefined;
    const session_filters = `${MANAGED_FILTER},label=${sessionLabel}`;
    const io: ConfigCommandIo = {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      // Only this test's objects: the machine is shared with other test suites.
      env: {
        DOCKER_HOST: `unix://${component.socket}`,
        CONTAINER_FILTER_FLAGS: session_filters,
        IMAGE_FILTER_FLAGS: session_filters,
        VOLUME_FILTER_FLAGS: session_filters,
        NETWORK_FILTER_FLAGS: session_filters,
      },
      cwd: process.cwd(),
      homedir: tmpdir(),
      isRoot: false,
      setExitCode: (code) => {
        exitCode = code;
      },
    };
    const program = new Command().exitOverride();
    registerCleanupCommand(program, io);
    await program.parseAsync(['cleanup', ...args], { from: 'user' });
    return { stdout, stderr, exitCode };
  }

  it('space prints the disk usage table', async () => {
    const result = await cleanup(['space']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +\d+/);
  });

  it('prune keeps volumes; prune-volumes removes managed containers, images, volumes and networks only', async () => {
    const pruned = await cleanup(['prune']);
    expect(pruned.exitCode).toBe(0);
    expect(pruned.stdout).toContain('Check and remove all unused containers (both dangling and unreferenced)\n');
    expect(pruned.stdout).toContain(created.containers[0]);
    expect((await docker.volumes.list({ filters: { label: [sessionLabel] } })).length).toBe(2);

    const result = await cleanup([]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('including volumes.');
    expect(result.stdout).toContain(`${session}-managed`);
    expect(result.stdout).toContain('Total reclaimed space:');
    const volumes = await docker.volumes.list({ filters: { label: [sessionLabel] } });
    expect(volumes.map((volume) => volume.Name)).toEqual([`${session}-unmanaged`]);
    expect(await docker.networks.list({ filters: { label: [sessionLabel] } })).toEqual([]);
    expect(await docker.images.list({ filters: { label: [sessionLabel] } })).toEqual([]);
    expect(await docker.containers.list({ all: true, filters: { label: [sessionLabel] } })).toEqual([]);
  });

  it('help prints the usage and exits 1', async () => {
    const result = await cleanup(['help']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('Usage: runnerkit cleanup prune-volumes|prune|space|help');
  });
});
