// Every [runners.docker] key that maps to the Engine API, checked on the created build container.
import { describe, expect, it } from 'vitest';
import { buildHostConfig, parseCpus, parseDevice, parseGpus, parseMemorySize } from './container-config.js';
import { job, runAndInspect, testContext, variables } from './test-support/docker.js';

const context = testContext('hostcfg');

describe('[runners.docker] → HostConfig', () => {
  it('maps resources, capabilities, devices, security and kernel options onto the build container', async () => {
    const executor = context.executor({
      docker: {
        pull_policy: ['if-not-present'],
        cap_add: ['NET_ADMIN'],
        cap_drop: ['DAC_OVERRIDE'],
        devices: ['/dev/null:/dev/rk-null:rw'],
        device_cgroup_rules: ['c 1:3 mr'],
        security_opt: ['no-new-privileges'],
        sysctls: { 'net.core.somaxconn': '1024' },
        ulimit: { nofile: '1024:2048' },
        memory: '64m',
        memory_swap: '128m',
        memory_reservation: '32m',
        cpus: '0.5',
        cpu_shares: 512,
        cpuset_cpus: '0',
        cpuset_mems: '0',
        shm_size: 8_388_608,
        oom_score_adjust: 100,
        runtime: 'runc',
        group_add: ['1234'],
        ipcmode: 'shareable',
        dns: ['127.0.0.11'],
        dns_search: ['example.internal'],
        extra_hosts: ['other-host:127.0.0.2'],
        hostname: 'rk-host',
        container_labels: { 'rk.job': 'job-$CI_JOB_ID', 'rk.plain': 'x' },
        tmpfs: { '/rk-tmp': 'rw,size=1m' },
      },
    });
    const { result, build, trace } = await runAndInspect(
      context,
      executor,
      job(['hostname', 'ulimit -n', 'cat /proc/sys/net/core/somaxconn', 'id -G', 'grep other-host /etc/hosts']),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    const host = build!.HostConfig;
    expect({
      CapAdd: host.CapAdd,
      CapDrop: host.CapDrop,
      Devices: host.Devices,
      DeviceCgroupRules: host.DeviceCgroupRules,
      SecurityOpt: host.SecurityOpt,
      Sysctls: host.Sysctls,
      Ulimits: host.Ulimits,
      Memory: host.Memory,
      MemorySwap: host.MemorySwap,
      MemoryReservation: host.MemoryReservation,
      NanoCpus: host.NanoCpus,
      CpuShares: host.CpuShares,
      CpusetCpus: host.CpusetCpus,
      CpusetMems: host.CpusetMems,
      ShmSize: host.ShmSize,
      OomKillDisable: host.OomKillDisable,
      OomScoreAdj: host.OomScoreAdj,
      Runtime: host.Runtime,
      GroupAdd: host.GroupAdd,
      IpcMode: host.IpcMode,
      Dns: host.Dns,
      DnsSearch: host.DnsSearch,
      ExtraHosts: host.ExtraHosts,
      Tmpfs: host.Tmpfs,
      RestartPolicy: host.RestartPolicy?.Name,
      LogConfig: host.LogConfig,
      Privileged: host.Privileged,
    }).toMatchInlineSnapshot(`
      {
        "CapAdd": [
          "NET_ADMIN",
        ],
        "CapDrop": [
          "DAC_OVERRIDE",
        ],
        "CpuShares": 512,
        "CpusetCpus": "0",
        "CpusetMems": "0",
        "DeviceCgroupRules": [
          "c 1:3 mr",
        ],
        "Devices": [
          {
            "CgroupPermissions": "rw",
            "PathInContainer": "/dev/rk-null",
            "PathOnHost": "/dev/null",
          },
        ],
        "Dns": [
          "127.0.0.11",
        ],
        "DnsSearch": [
          "example.internal",
        ],
        "ExtraHosts": [
          "other-host:127.0.0.2",
        ],
        "GroupAdd": [
          "1234",
        ],
        "IpcMode": "shareable",
        "LogConfig": {
          "Config": {
            "max-file": "1",
            "max-size": "100m",
          },
          "Type": "json-file",
        },
        "Memory": 67108864,
        "MemoryReservation": 33554432,
        "MemorySwap": 134217728,
        "NanoCpus": 500000000,
        "OomKillDisable": false,
        "OomScoreAdj": 100,
        "Privileged": false,
        "RestartPolicy": "no",
        "Runtime": "runc",
        "SecurityOpt": [
          "no-new-privileges",
        ],
        "ShmSize": 8388608,
        "Sysctls": {
          "net.core.somaxconn": "1024",
        },
        "Tmpfs": {
          "/rk-tmp": "rw,size=1m",
        },
        "Ulimits": [
          {
            "Hard": 2048,
            "Name": "nofile",
            "Soft": 1024,
          },
        ],
      }
    `);
    expect(build!.Config.Hostname).toBe('rk-host');
    expect(build!.Config.Labels?.['rk.job']).toBe('job-4242');
    expect(build!.Config.Labels?.['rk.plain']).toBe('x');
    expect(build!.Config.Labels?.['com.gitlab.gitlab-runner.managed']).toBe('true');
    expect(build!.Config.Labels?.['com.gitlab.gitlab-runner.type']).toBe('build');
    expect(build!.Config.Labels?.['com.gitlab.gitlab-runner.job.id']).toBe('4242');
    expect(trace).toContain('\nrk-host\n');
    expect(trace).toContain('\n1024\n'); // ulimit -n and somaxconn
    expect(trace).toMatch(/\n0 [0-9 ]*1234\n/);
    expect(trace).toContain('127.0.0.2\tother-host');
  });

  it('userns_mode and pid_mode apply; FF_USE_INIT_WITH_DOCKER_EXECUTOR sets Init', async () => {
    const executor = context.executor({
      docker: { pull_policy: ['if-not-present'], pid_mode: 'host', userns_mode: 'host' },
    });
    const { result, build } = await runAndInspect(
      context,
      executor,
      job(['true'], { variables: variables({ FF_USE_INIT_WITH_DOCKER_EXECUTOR: 'true' }) }),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(build!.HostConfig.PidMode).toBe('host');
    expect(build!.HostConfig.UsernsMode).toBe('host');
    expect(build!.HostConfig.Init).toBe(true);
  });

  it('privileged maps to Privileged (this sandbox cannot start privileged containers, so no job runs)', () => {
    expect(buildHostConfig({ privileged: true }, true).Privileged).toBe(true);
    expect(buildHostConfig({}, false).Privileged).toBe(false);
  });

  it('allowed_privileged_images limits privileged to matching images', async () => {
    const executor = context.executor({
      docker: { pull_policy: ['if-not-present'], privileged: true, allowed_privileged_images: ['other/*'] },
    });
    const { build } = await runAndInspect(context, executor, job(['true']));
    expect(build!.HostConfig.Privileged).toBe(false);
  });

  it('refuses Windows-only keys with a clear message', async () => {
    const executor = context.executor({ docker: { pull_policy: ['if-not-present'], isolation: 'hyperv' } });
    const { result } = await runAndInspect(context, executor, job(['true']));
    expect(result.outcome).toMatchObject({
      status: 'failed',
      failureReason: 'runner_configuration_error',
      message:
        '[runners.docker] isolation = "hyperv" is a Windows-only option: this runner runs Linux containers; remove it or set it to "default"',
    });
  });

  it('parses sizes, CPUs, devices and GPU requests as the docker CLI does', () => {
    expect(parseMemorySize('128m', 'memory')).toBe(134217728);
    expect(parseMemorySize('1.5g', 'memory')).toBe(1610612736);
    expect(parseMemorySize('512MiB', 'memory')).toBe(536870912);
    expect(parseCpus('1.5', 'cpus')).toBe(1_500_000_000);
    expect(parseCpus('3/2', 'cpus')).toBe(1_500_000_000);
    expect(parseDevice('/dev/kvm')).toEqual({
      PathOnHost: '/dev/kvm',
      PathInContainer: '/dev/kvm',
      CgroupPermissions: 'rwm',
    });
    expect(() => parseDevice('a:b:c:d')).toThrow('failed to parse device string "a:b:c:d": too many colons');
    expect(parseGpus('all')).toMatchObject({ Count: -1, Capabilities: [['gpu']] });
    expect(parseGpus('device=0,1')).toMatchObject({ DeviceIDs: ['0', '1'] });
    expect(parseGpus('count=2,capabilities=utility')).toMatchObject({ Count: 2, Capabilities: [['utility']] });
  });
});
