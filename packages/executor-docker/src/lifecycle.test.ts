// Lifecycle: labels on everything, nothing left after timeout or cancel, leftovers swept, cleanup by label,
// volumes (cache volumes, binds, tmpfs), caches through the archive API.
import { describe, expect, it } from 'vitest';
import { cleanupDockerResources } from './cleanup.js';
import { cacheVolumeName, projectRealUniqueName } from './naming.js';
import { countLabelled, job, runAndInspect, testContext, variables } from './test-support/docker.js';

const context = testContext('lifecycle');
const short = context.runnerToken.slice(8, 17);

describe('lifecycle and volumes', () => {
  it('a job with services and a per-job network leaves nothing after a timeout or a cancel', async () => {
    const before = await countLabelled(context.client, short);
    const payload = job(['sleep 60'], {
      services: [{ name: context.images.serviceHttp }],
      variables: variables({ FF_NETWORK_PER_BUILD: 'true' }),
      runner_info: { timeout: 5 },
    });
    const executor = context.executor({ docker: { pull_policy: ['if-not-present'], wait_for_services_timeout: -1 } });
    const timedOut = await runAndInspect(context, executor, payload);
    expect(timedOut.result.outcome).toMatchObject({ failureReason: 'job_execution_timeout' });
    expect(timedOut.network?.Labels['com.gitlab.gitlab-runner.managed']).toBe('true');
    expect(await countLabelled(context.client, short)).toEqual(before);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 2500);
    const canceled = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['if-not-present'], wait_for_services_timeout: -1 } }),
      { ...payload, runner_info: { timeout: 600 } },
      { abortSignal: controller.signal },
    );
    expect(canceled.result.outcome).toMatchObject({ failureReason: 'job_canceled' });
    expect(await countLabelled(context.client, short)).toEqual(before);
  });

  it('volumes: cache volumes named as GitLab names them, host binds ro, tmpfs; the local cache persists in /cache', async () => {
    const docker = {
      pull_policy: ['if-not-present' as const],
      volumes: ['/cache', '/etc/hostname:/host-hostname:ro'],
    };
    const cacheJob = (script: string[]) =>
      job(script, { cache: [{ key: 'rk-key', paths: ['out/'], policy: 'pull-push', when: 'on_success' }] });
    const first = await runAndInspect(
      context,
      context.executor({ docker }),
      cacheJob([
        'mkdir -p out && echo cached-content > out/file.txt',
        'touch /host-hostname 2>/dev/null || echo read-only',
      ]),
    );
    expect(first.result.outcome).toEqual({ status: 'success' });
    expect(first.trace).toContain('\nread-only\n');
    expect(first.trace).toContain('Creating cache rk-key...');
    expect(first.trace).toContain('Created cache');
    const naming = {
      shortToken: short,
      runnerToken: context.runnerToken,
      projectId: 7,
      concurrentProjectId: 0,
      jobId: 4242,
    };
    const volume = cacheVolumeName(naming, '/cache', false);
    expect(volume).toMatch(new RegExp(`^${projectRealUniqueName(naming)}-cache-[0-9a-f]{32}$`));
    expect(first.build!.HostConfig.Binds).toContain(`${volume}:/cache`);
    expect(first.build!.HostConfig.Binds).toContain('/etc/hostname:/host-hostname:ro');
    const inspected = await context.client.volumes.inspect(volume);
    expect(inspected.Labels?.['com.gitlab.gitlab-runner.reusable']).toBe('true');
    expect(inspected.Labels?.['com.gitlab.gitlab-runner.destination']).toBe('/cache');

    const second = await runAndInspect(context, context.executor({ docker }), cacheJob(['cat out/file.txt']));
    expect(second.trace).toContain('Checking cache for rk-key...');
    expect(second.trace).toContain('Successfully extracted cache');
    expect(second.trace).toContain('\ncached-content\n');
    await context.client.volumes.remove(volume, { force: true });

    // disable_cache: the same entry becomes a temporary volume, removed with the job
    const temporary = await runAndInspect(
      context,
      context.executor({ docker: { ...docker, disable_cache: true, tmpfs: { '/scratch': 'rw' } } }),
      job(['mount | grep -c " /scratch "']),
    );
    expect(temporary.result.outcome).toEqual({ status: 'success' });
    expect(temporary.build!.HostConfig.Binds).toContainEqual(
      expect.stringMatching(/^runner-.+-[0-9a-f]{16}-cache-[0-9a-f]{32}:\/cache$/),
    );
    expect(await countLabelled(context.client, short)).toEqual({ containers: 0, volumes: 0, networks: 0 });
  });

  it('network_mode host, none and a named network are used as given', async () => {
    const name = `rk-net-${short.toLowerCase()}`;
    await context.client.networks.create({ Name: name, Labels: { 'runnerkit.test': 'executor-docker' } });
    try {
      for (const mode of ['host', 'none', name]) {
        const { result, build } = await runAndInspect(
          context,
          context.executor({ docker: { pull_policy: ['if-not-present'], network_mode: mode } }),
          job(['true']),
        );
        expect(result.outcome).toEqual({ status: 'success' });
        expect(build!.HostConfig.NetworkMode).toBe(mode);
      }
    } finally {
      await context.client.networks.remove(name);
    }
  });

  it('leftovers of a crashed run of the same slot are removed at start; cleanupDockerResources prunes by label', async () => {
    const labels = {
      'com.gitlab.gitlab-runner.managed': 'true',
      'com.gitlab.gitlab-runner.runner.id': short,
      'com.gitlab.gitlab-runner.project.id': '7',
      'com.gitlab.gitlab-runner.project.runner_id': '0',
    };
    const stale = await context.client.containers.create({
      Image: context.images.busybox,
      Cmd: ['true'],
      Labels: labels,
    });
    const { result } = await runAndInspect(context, context.executor(), job(['true']));
    expect(result.outcome).toEqual({ status: 'success' });
    await expect(context.client.containers.inspect(stale.Id)).rejects.toThrow();

    const orphan = await context.client.volumes.create({
      Labels: { ...labels, 'com.gitlab.gitlab-runner.reusable': 'true' },
    });
    const space = await cleanupDockerResources(context.client, {
      mode: 'space',
      labels: [`com.gitlab.gitlab-runner.runner.id=${short}`],
    });
    expect(space.present).toEqual({ containers: 0, volumes: 1, networks: 0 });
    const report = await cleanupDockerResources(context.client, {
      labels: [`com.gitlab.gitlab-runner.runner.id=${short}`],
    });
    expect(report.volumesDeleted).toContain(orphan.Name);
  });
});
