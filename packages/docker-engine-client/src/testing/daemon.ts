// Shared helpers for this package's own tests (not exported from the package).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '@runnerkit/testkit';
import { DockerClient } from '../client.js';
import type { DockerClientOptions } from '../transport.js';

export const TEST_LABEL = 'runnerkit.test';
export const TEST_LABEL_VALUE = 'docker-engine-client';
export const BUSYBOX = 'runnerkit-test/busybox:latest';

export interface NamedTransport {
  name: 'unix' | 'tcp' | 'tls';
  options: DockerClientOptions;
}

/** The three ways to reach the test daemon: unix socket, plain TCP and mutual TLS. */
export function transports(): NamedTransport[] {
  const docker = requireComponent('docker');
  const certPath = docker.tls.certPath;
  return [
    { name: 'unix', options: { host: `unix://${docker.socket}` } },
    { name: 'tcp', options: { host: docker.tcp } },
    {
      name: 'tls',
      options: {
        host: docker.tls.host,
        tls: {
          ca: readFileSync(join(certPath, 'ca.pem')),
          cert: readFileSync(join(certPath, 'cert.pem')),
          key: readFileSync(join(certPath, 'key.pem')),
        },
      },
    },
  ];
}

export function unixOptions(): DockerClientOptions {
  return { host: `unix://${requireComponent('docker').socket}` };
}

/** Labels that mark an object as this test session's, so cleanup sweeps only ours. */
export function sessionLabels(): { labels: Record<string, string>; filter: string[] } {
  const session = randomBytes(6).toString('hex');
  return {
    labels: { [TEST_LABEL]: TEST_LABEL_VALUE, 'runnerkit.test.session': session },
    filter: [`runnerkit.test.session=${session}`],
  };
}

export function uniqueName(prefix: string): string {
  return `rk-dec-${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Removes every container, network and volume carrying the session label. */
export async function sweep(client: DockerClient, filter: string[]): Promise<void> {
  const containers = await client.containers.list({ all: true, filters: { label: filter } });
  await Promise.all(containers.map((c) => client.containers.remove(c.Id, { force: true, volumes: true })));
  const networks = await client.networks.list({ filters: { label: filter } });
  await Promise.all(networks.map((n) => client.networks.remove(n.Id)));
  const volumes = await client.volumes.list({ filters: { label: filter } });
  await Promise.all(volumes.map((v) => client.volumes.remove(v.Name, { force: true })));
}

export { DockerClient };
