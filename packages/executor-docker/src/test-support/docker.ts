// Shared test helpers: a client, per-file runner tokens and work dirs, and a count of labelled leftovers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ContainerInspect,
  createDockerClient,
  type DockerClient,
  type Network,
  type Volume,
} from '@runnerkit/docker-engine-client';
import type { Executor, RuntimeJobPayload } from '@runnerkit/job-runtime';
import { conformancePayload, runObserved } from '@runnerkit/job-runtime/testing';
import { requireComponent } from '@runnerkit/testkit';
import { afterAll } from 'vitest';
import { createDockerExecutor } from '../executor.js';
import { LABEL_PREFIX, MANAGED_LABEL } from '../naming.js';
import type { DockerExecutorOptions } from '../options.js';

export function testContext(name: string) {
  const component = requireComponent('docker');
  const images = requireComponent('images');
  const client: DockerClient = createDockerClient({ host: `unix://${component.socket}` });
  const workDir = mkdtempSync(join(tmpdir(), `executor-docker-${name}-`));
  // One runner token per test file: jobs of different files never share names, slots or leftovers.
  const runnerToken = `glrt-t1_${name.replace(/[^a-z0-9]/gi, '').slice(0, 6)}${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    rmSync(workDir, { recursive: true, force: true });
    await client.close();
  });
  const executor = (options: Partial<DockerExecutorOptions> = {}) =>
    createDockerExecutor({
      client,
      runnerToken,
      workDir,
      ...options,
      // the local test images exist only locally (there is no Docker Hub here)
      docker: { pull_policy: ['if-not-present'], ...options.docker },
    });
  return { client, images, workDir, runnerToken, executor, runner: { token: runnerToken } };
}

/** Labelled objects of one runner token (containers, volumes, networks) — for leak checks. */
export async function countLabelled(client: DockerClient, shortToken?: string) {
  const label = [`${MANAGED_LABEL}=true`, ...(shortToken ? [`${LABEL_PREFIX}runner.id=${shortToken}`] : [])];
  const [containers, volumes, networks] = await Promise.all([
    client.containers.list({ all: true, filters: { label } }),
    client.volumes.list({ filters: { label: [...label, `${LABEL_PREFIX}reusable=false`] } }),
    client.networks.list({ filters: { label } }),
  ]);
  return { containers: containers.length, volumes: volumes.length, networks: networks.length };
}

export function job(script: string[], overrides: Partial<RuntimeJobPayload> = {}, after: string[] = []) {
  return conformancePayload(script, { image: { name: requireComponent('images').busybox }, ...overrides }, after);
}

export function variables(extra: Record<string, string>) {
  return [
    { key: 'CI_JOB_ID', value: '4242', public: true, masked: false },
    { key: 'GIT_STRATEGY', value: 'none', public: true, masked: false },
    ...Object.entries(extra).map(([key, value]) => ({ key, value, public: true, masked: false })),
  ];
}

/**
 * Runs one job and inspects every container, temporary volume and network the executor created, as they are
 * when the first stage starts (after the job, cleanup removes them).
 */
export async function runAndInspect(
  context: ReturnType<typeof testContext>,
  executor: ReturnType<typeof createDockerExecutor>,
  payload: RuntimeJobPayload,
  extra: Parameters<typeof runObserved>[2] = {},
) {
  const inspected: {
    build?: ContainerInspect;
    services: ContainerInspect[];
    network?: Network;
    volumes: Volume[];
  } = { services: [], volumes: [] };
  const wrapped: Executor = {
    name: executor.name,
    shell: executor.shell,
    directories: executor.directories,
    environment: executor.environment,
    stages: executor.stages,
    prepare: (request) => executor.prepare(request),
    run: async (request) => {
      if (!inspected.build && executor.buildContainerId) {
        for (const id of executor.resources.containers) {
          const info = await context.client.containers.inspect(id);
          if (id === executor.buildContainerId) inspected.build = info;
          else inspected.services.push(info);
        }
        for (const name of executor.resources.temporaryVolumes)
          inspected.volumes.push(await context.client.volumes.inspect(name));
        if (executor.resources.network)
          inspected.network = await context.client.networks.inspect(executor.resources.network);
      }
      return executor.run(request);
    },
    cleanup: () => executor.cleanup(),
  };
  const observed = await runObserved(wrapped, payload, extra, context.runner);
  return { ...observed, ...inspected };
}
