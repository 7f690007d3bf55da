// The service_* resource options and services_tmpfs on a running service container; legacy `links` and
// `cgroup_parent` on the build container.
import { readdirSync, rmdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { job, runAndInspect, testContext } from './test-support/docker.js';

const context = testContext('svcopts');
const short = context.runnerToken.slice(8, 17);

/** The cgroup the daemon (cgroupfs driver) creates for a parent; removed again when it is empty. */
function removeCgroup(name: string): void {
  let controllers: string[] = [];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return;
  }
  for (const controller of controllers)
    try {
      rmdirSync(`/sys/fs/cgroup/${controller}/${name}`);
    } catch {
      // not created under this controller, or not visible from here
    }
}

describe('service and build container options', () => {
  it('service_* resources and services_tmpfs apply to the running service, not to the build container', async () => {
    const { result, services, build } = await runAndInspect(
      context,
      context.executor({
        docker: {
          pull_policy: ['if-not-present'],
          wait_for_services_timeout: -1,
          service_memory: '64m',
          service_memory_swap: '128m',
          service_memory_reservation: '32m',
          service_cpus: '0.5',
          service_cpu_shares: 256,
          service_cpuset_cpus: '0',
          services_tmpfs: { '/svc-scratch': 'rw,size=1m' },
          tmpfs: { '/build-scratch': 'rw' },
        },
      }),
      job(['true'], { services: [{ name: context.images.serviceHttp, alias: 'web' }] }),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(services).toHaveLength(1);
    const service = services[0]!;
    expect(service.State.Running).toBe(true);
    const host = service.HostConfig;
    expect({
      Memory: host.Memory,
      MemorySwap: host.MemorySwap,
      MemoryReservation: host.MemoryReservation,
      NanoCpus: host.NanoCpus,
      CpuShares: host.CpuShares,
      CpusetCpus: host.CpusetCpus,
      Tmpfs: host.Tmpfs,
    }).toMatchInlineSnapshot(`
      {
        "CpuShares": 256,
        "CpusetCpus": "0",
        "Memory": 67108864,
        "MemoryReservation": 33554432,
        "MemorySwap": 134217728,
        "NanoCpus": 500000000,
        "Tmpfs": {
          "/svc-scratch": "rw,size=1m",
        },
      }
    `);
    // the build container keeps its own settings
    expect(build!.HostConfig.Memory ?? 0).toBe(0);
    expect(build!.HostConfig.Tmpfs).toEqual({ '/build-scratch': 'rw' });
  });

  it('links resolve another container on the default bridge; cgroup_parent places the build container', async () => {
    const name = `rk-linked-${short.toLowerCase()}`;
    const parent = 'runnerkit-test-cgroup-parent';
    const linked = await context.client.containers.create(
      { Image: context.images.busybox, Cmd: ['sleep', '60'], Labels: { 'runnerkit.test': 'executor-docker' } },
      { name },
    );
    try {
      await context.client.containers.start(linked.Id);
      const { result, build, trace } = await runAndInspect(
        context,
        context.executor({
          docker: { pull_policy: ['if-not-present'], links: [`${name}:linkedhost`], cgroup_parent: `/${parent}` },
        }),
        job([
          'grep -c linkedhost /etc/hosts',
          'ping -c 1 -W 2 linkedhost >/dev/null && echo reached',
          'cat /proc/self/cgroup',
        ]),
      );
      expect(result.outcome).toEqual({ status: 'success' });
      expect(build!.HostConfig.Links).toEqual([`/${name}:/${build!.Name.replace(/^\//, '')}/linkedhost`]);
      expect(build!.HostConfig.CgroupParent).toBe(`/${parent}`);
      expect(trace).toContain('\nreached\n');
      expect(trace).toMatch(new RegExp(`:memory:/${parent}/[0-9a-f]{64}\\n`));
    } finally {
      await context.client.containers.remove(linked.Id, { force: true, volumes: true });
      removeCgroup(parent);
    }
  });
});
