// dockerd restarted mid-job — on a second, isolated daemon this test starts and stops itself, never the shared
// one: the job fails with a clear message, the runner serves the next job, and nothing labelled is left.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { count } from '../support/count.js';
import {
  type CliProcess,
  configToml,
  createPipeline,
  finishedJob,
  gitProject,
  labelledObjects,
  removeLabelledObjects,
  shortTokenOf,
  startCli,
  temporaryDirectory,
  until,
} from '../support/runner.js';
import { copyImage, SECOND_HOST, type SecondDaemon, startSecondDaemon } from '../support/second-daemon.js';

describeWithComponent('images', 'dockerd restarted mid-job (second, isolated daemon)', (images) => {
  let daemon: SecondDaemon | undefined;
  let coordinator: Coordinator;
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  let cli: CliProcess | undefined;
  let token = '';
  let project = '';

  beforeAll(async () => {
    daemon = await startSecondDaemon();
    if (!daemon) return;
    await copyImage(images.busybox);
    coordinator = await createCoordinator();
    work = await temporaryDirectory('dockerd-restart');
    const runner = coordinator.createRunner({ tags: ['restart'], runUntagged: false });
    token = runner.token;
    const config = join(work.path, 'restart.toml');
    await writeFile(
      config,
      configToml([
        {
          name: 'restart',
          url: coordinator.url,
          token,
          executor: 'docker',
          extra: `  [runners.docker]\n    host = "${SECOND_HOST}"\n    image = "${images.busybox}"\n    pull_policy = ["if-not-present"]\n    disable_cache = true\n`,
        },
      ]),
    );
    cli = startCli(['run', '-c', config]);
    await cli.waitFor(/Configuration loaded/);
    project = await gitProject(work.path, 'restart', { 'README.md': 'restart\n' });
  }, 120_000);
  afterAll(async () => {
    await cli?.stop();
    if (daemon) {
      if (token !== '') {
        const left = await labelledObjects(shortTokenOf(token), SECOND_HOST).catch(() => undefined);
        if (left) count('leftoversFound', left.containers.length + left.networks.length + left.volumes.length);
        await removeLabelledObjects(shortTokenOf(token), SECOND_HOST).catch(() => undefined);
      }
      await daemon.stop();
    }
    await coordinator?.close();
    await work?.remove();
  }, 120_000);

  it('the job fails with a clear message, the next job succeeds, nothing labelled is left', async (context) => {
    if (!daemon) {
      context.skip('something else already runs on /var/run/docker-2.sock; not touching it');
      return;
    }
    const first = await createPipeline(
      coordinator,
      project,
      'doomed:\n  tags: [restart]\n  script: ["echo started", "sleep 60"]\n',
    );
    const id = first.jobs[0]?.id as number;
    await until(() => (coordinator.job(id)?.trace.includes('$ sleep 60') ? true : undefined), 90_000, 'the script');
    await daemon.restart();
    count('faultsInjected');
    const job = await finishedJob(coordinator, id, 90_000);
    count('jobsRun');
    count('traceBytesChecked', Buffer.byteLength(job.trace));
    expect(job.status).toBe('failed');
    expect(['runner_system_failure', 'script_failure']).toContain(job.failure_reason);
    expect(job.trace).toMatch(/ERROR: Job failed/);

    const next = await createPipeline(
      coordinator,
      project,
      'after:\n  tags: [restart]\n  script: ["echo after-restart"]\n',
    );
    const nextJob = await finishedJob(coordinator, next.jobs[0]?.id as number, 90_000);
    count('jobsRun');
    expect(nextJob.status, nextJob.trace.slice(-1500)).toBe('success');
    expect(nextJob.trace).toContain('after-restart');
    expect(await labelledObjects(shortTokenOf(token), SECOND_HOST)).toEqual({
      containers: [],
      volumes: [],
      networks: [],
    });
  });
});
