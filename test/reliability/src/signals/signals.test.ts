// Signals to `runnerkit run` with 4 Docker jobs running: SIGQUIT lets them finish, then the runner exits; SIGTERM
// fails them with runner_interrupted, removes their containers and exits within shutdown_timeout; after SIGKILL a
// restarted runner cleans what the killed run left.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { count } from '../support/count.js';
import {
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

const SHUTDOWN_TIMEOUT = 15;

describeWithComponent('images', 'signals to `runnerkit run` with 4 running Docker jobs', (images) => {
  let coordinator: Coordinator;
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  const tokens: string[] = [];

  beforeAll(async () => {
    coordinator = await createCoordinator();
    work = await temporaryDirectory('signals');
  });
  afterAll(async () => {
    for (const token of tokens) {
      const left = await labelledObjects(shortTokenOf(token));
      count('leftoversFound', left.containers.length + left.networks.length + left.volumes.length);
      await removeLabelledObjects(shortTokenOf(token));
    }
    await coordinator?.close();
    await work?.remove();
  });

  async function runnerWithFourJobs(name: string, script: string[]) {
    const runner = coordinator.createRunner({ tags: [name], runUntagged: false });
    tokens.push(runner.token);
    const config = join(work.path, `${name}.toml`);
    await writeFile(
      config,
      configToml(
        [
          {
            name,
            url: coordinator.url,
            token: runner.token,
            executor: 'docker',
            extra: `  [runners.docker]\n    image = "${images.busybox}"\n    pull_policy = ["if-not-present"]\n    disable_cache = true\n`,
          },
        ],
        '',
      ).replace('shutdown_timeout = 20', `shutdown_timeout = ${SHUTDOWN_TIMEOUT}`),
    );
    const cli = startCli(['run', '-c', config]);
    await cli.waitFor(/Configuration loaded/);
    const project = await gitProject(work.path, name, { 'README.md': `${name}\n` });
    const yaml = [0, 1, 2, 3]
      .map(
        (index) =>
          `${name}-${index}:\n  tags: [${name}]\n  script:\n${script.map((line) => `    - ${JSON.stringify(line)}`).join('\n')}\n`,
      )
      .join('');
    const created = await createPipeline(coordinator, project, yaml);
    const ids = created.jobs.map((job) => job.id);
    await until(
      () => (ids.every((id) => coordinator.job(id)?.trace.includes(`$ ${script.at(-1)}`)) ? true : undefined),
      120_000,
      'all 4 jobs to run their script',
    );
    return { cli, ids, token: runner.token, config };
  }

  it('SIGQUIT: the 4 running jobs finish successfully, then the runner exits 0', async () => {
    const { cli, ids, token } = await runnerWithFourJobs('quit', ['echo started', 'sleep 4']);
    cli.child.kill('SIGQUIT');
    count('faultsInjected');
    expect(await cli.exited).toBe(0);
    for (const id of ids) {
      const job = await finishedJob(coordinator, id, 10_000);
      count('jobsRun');
      expect(job.status, job.trace.slice(-1000)).toBe('success');
    }
    expect(await labelledObjects(shortTokenOf(token))).toEqual({ containers: [], volumes: [], networks: [] });
  });

  it('SIGTERM: the 4 jobs fail with runner_interrupted, their containers are removed, exit within shutdown_timeout', async () => {
    const { cli, ids, token } = await runnerWithFourJobs('term', ['echo started', 'sleep 300']);
    const started = Date.now();
    cli.child.kill('SIGTERM');
    count('faultsInjected');
    await cli.exited;
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT * 1000);
    for (const id of ids) {
      const job = await finishedJob(coordinator, id, 10_000);
      count('jobsRun');
      expect(job.status).toBe('failed');
      expect(job.failure_reason).toBe('runner_interrupted');
    }
    expect(await labelledObjects(shortTokenOf(token))).toEqual({ containers: [], volumes: [], networks: [] });
  });

  // The killed process's objects carry it in `dev.runnerkit.owner`; the restarted runner finds that process gone and
  // removes them before it asks for jobs.
  it('SIGKILL, then a restart: the restarted runner removes what the killed run left', async () => {
    const { cli, token, config } = await runnerWithFourJobs('kill', ['echo started', 'sleep 300']);
    cli.child.kill('SIGKILL');
    count('faultsInjected');
    await cli.exited;
    expect((await labelledObjects(shortTokenOf(token))).containers.length).toBeGreaterThan(0);
    const restarted = startCli(['run', '-c', config]);
    try {
      await restarted.waitFor(/Configuration loaded/);
      await until(
        async () => {
          const left = await labelledObjects(shortTokenOf(token));
          return left.containers.length + left.networks.length + left.volumes.length === 0 ? true : undefined;
        },
        8_000,
        'the leftovers to be removed',
      );
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
      await removeLabelledObjects(shortTokenOf(token));
    }
  });
});
