// Volume options the first suite left out: volumes_from, volume_driver / volume_driver_ops, the protected cache
// volume (named volume and cache_dir host path), and the shared builds layout of a host-bound builds_dir.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryTar } from './tar.js';
import { cacheVolumeName, md5, projectRealUniqueName } from './naming.js';
import { countLabelled, job, runAndInspect, testContext, variables } from './test-support/docker.js';

const context = testContext('volopts');
const short = context.runnerToken.slice(8, 17);
const naming = {
  shortToken: short,
  runnerToken: context.runnerToken,
  projectId: 7,
  concurrentProjectId: 0,
  jobId: 4242,
};

describe('volume options', () => {
  it('volumes_from mounts another container’s volumes (read-only when asked)', async () => {
    const name = `rk-data-${short.toLowerCase()}`;
    const data = await context.client.containers.create(
      {
        Image: context.images.busybox,
        Cmd: ['true'],
        Volumes: { '/data': {} },
        Labels: { 'runnerkit.test': 'executor-docker' },
      },
      { name },
    );
    try {
      await context.client.containers.putArchive(
        data.Id,
        '/',
        directoryTar({ target: '/data', files: { 'hello.txt': 'from the data container\n' } }),
      );
      const { result, build, trace } = await runAndInspect(
        context,
        context.executor({ docker: { pull_policy: ['if-not-present'], volumes_from: [`${name}:ro`] } }),
        job(['cat /data/hello.txt', 'touch /data/new 2>/dev/null || echo read-only']),
      );
      expect(result.outcome).toEqual({ status: 'success' });
      expect(build!.HostConfig.VolumesFrom).toEqual([`${name}:ro`]);
      expect(trace).toContain('\nfrom the data container\n');
      expect(trace).toContain('\nread-only\n');
    } finally {
      await context.client.containers.remove(data.Id, { force: true, volumes: true });
    }
  });

  it('volume_driver and volume_driver_ops reach every volume the executor creates', async () => {
    const { result, build, volumes, trace } = await runAndInspect(
      context,
      context.executor({
        docker: {
          pull_policy: ['if-not-present'],
          volumes: ['/rk-scratch'],
          disable_cache: true,
          volume_driver: 'local',
          volume_driver_ops: { type: 'tmpfs', device: 'tmpfs', o: 'size=4m' },
        },
      }),
      job(['grep " /rk-scratch " /proc/mounts | cut -d" " -f3']),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(build!.HostConfig.VolumeDriver).toBe('local');
    // the temporary /rk-scratch volume and the temporary builds volume
    expect(
      volumes.map((volume) => [volume.Labels?.['com.gitlab.gitlab-runner.destination'], volume.Options]).sort(),
    ).toMatchInlineSnapshot(`
      [
        [
          "/builds",
          {
            "device": "tmpfs",
            "o": "size=4m",
            "type": "tmpfs",
          },
        ],
        [
          "/rk-scratch",
          {
            "device": "tmpfs",
            "o": "size=4m",
            "type": "tmpfs",
          },
        ],
      ]
    `);
    expect(trace).toContain('\ntmpfs\n');
    expect(await countLabelled(context.client, short)).toEqual({ containers: 0, volumes: 0, networks: 0 });
  });

  it('a protected ref gets its own cache volume, and its own cache_dir path', async () => {
    const protectedJob = () =>
      job(['test -w /cache && echo writable'], {
        git_info: {
          ...job([]).git_info!,
          protected: true,
        } as ReturnType<typeof job>['git_info'],
        variables: variables({ CI_COMMIT_REF_PROTECTED: 'true' }),
      });
    const volume = cacheVolumeName(naming, '/cache', true);
    expect(volume).toMatch(/-cache-[0-9a-f]{32}-protected$/);
    try {
      const named = await runAndInspect(
        context,
        context.executor({ docker: { pull_policy: ['if-not-present'], volumes: ['/cache'] } }),
        protectedJob(),
      );
      expect(named.result.outcome).toEqual({ status: 'success' });
      expect(named.build!.HostConfig.Binds).toContain(`${volume}:/cache`);
      expect(named.trace).toContain('\nwritable\n');
      const labels = (await context.client.volumes.inspect(volume)).Labels ?? {};
      expect(labels['com.gitlab.gitlab-runner.protected']).toBe('true');
    } finally {
      await context.client.volumes.remove(volume, { force: true }).catch(() => {});
    }

    const hostCache = mkdtempSync(join(context.workDir, 'host-cache-'));
    const bound = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['if-not-present'], volumes: ['/cache'], cache_dir: hostCache } }),
      protectedJob(),
    );
    expect(bound.result.outcome).toEqual({ status: 'success' });
    const path = `${hostCache}/${projectRealUniqueName(naming)}/${md5('/cache')}-protected`;
    expect(bound.build!.HostConfig.Binds).toContain(`${path}:/cache`);
    expect(existsSync(path)).toBe(true);
  });

  it('a host-bound builds_dir uses the shared layout <builds>/<short token>/<concurrent id>/<namespace>/<project>', async () => {
    const hostBuilds = mkdtempSync(join(context.workDir, 'host-builds-'));
    try {
      const executor = context.executor({
        docker: { pull_policy: ['if-not-present'], volumes: [`${hostBuilds}:/builds`] },
      });
      expect(executor.directories.sharedBuildsDir).toBe(true);
      const { result, build, trace } = await runAndInspect(
        context,
        executor,
        job(['echo "dir=$CI_PROJECT_DIR"', 'echo shared > marker.txt']),
      );
      expect(result.outcome).toEqual({ status: 'success' });
      expect(build!.HostConfig.Binds).toContain(`${hostBuilds}:/builds`);
      // no temporary builds volume next to the bind
      expect(build!.HostConfig.Binds).toHaveLength(1);
      expect(trace).toContain(`\ndir=/builds/${short}/0/group/project\n`);
      expect(readFileSync(join(hostBuilds, short, '0', 'group', 'project', 'marker.txt'), 'utf8')).toBe('shared\n');
    } finally {
      rmSync(hostBuilds, { recursive: true, force: true });
    }
  });
});
