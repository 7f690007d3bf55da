import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { requireComponent } from '@runnerkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliProcess,
  configToml,
  dockerObjects,
  gitProject,
  removeDockerObjects,
  runCli,
  shortTokenOf,
  startCli,
  stopCli,
  temporaryDirectory,
  until,
} from './support.js';

requireComponent('docker');
requireComponent('images');

let coordinator: Coordinator;
let work: Awaited<ReturnType<typeof temporaryDirectory>>;
const running: CliProcess[] = [];
const tokens: string[] = [];

beforeAll(async () => {
  coordinator = await createCoordinator();
  work = await temporaryDirectory('run');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map(stopCli));
});
afterAll(async () => {
  for (const token of tokens) await removeDockerObjects(shortTokenOf(token));
  await coordinator?.close();
  await work?.remove();
});

async function pipeline(
  projectDir: string,
  yaml: string,
): Promise<{ id: number; jobs: Array<{ id: number; name: string }> }> {
  await writeFile(join(projectDir, '.gitlab-ci.yml'), yaml);
  const response = await fetch(`${coordinator.url}/-/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ yaml, project_dir: projectDir }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: number; jobs: Array<{ id: number; name: string }> };
}

const finished = (id: number) => () => {
  const job = coordinator.job(id);
  return job && ['success', 'failed', 'canceled'].includes(job.status) ? job : undefined;
};

async function hasCommand(name: string): Promise<boolean> {
  const result = await runCli([name, '--help'], { timeoutMs: 20_000 });
  return result.code === 0;
}

describe('runnerkit run with the Docker executor', () => {
  it('register → run → a job from POST /-/pipelines succeeds in Docker → unregister; nothing left in Docker', async () => {
    const config = join(work.path, 'lifecycle.toml');
    const created = coordinator.createRunner({ description: 'e2e' });
    tokens.push(created.token);
    if (await hasCommand('register')) {
      const registered = await runCli([
        'register',
        '--non-interactive',
        '-c',
        config,
        '--url',
        coordinator.url,
        '--token',
        created.token,
        '--name',
        'e2e-docker',
        '--executor',
        'docker',
        '--docker-image',
        'runnerkit-test/busybox:latest',
        '--docker-pull-policy',
        'if-not-present',
      ]);
      expect(registered.code, registered.stderr).toBe(0);
    } else {
      await writeFile(
        config,
        configToml([
          {
            name: 'e2e-docker',
            url: coordinator.url,
            token: created.token,
            executor: 'docker',
            extra:
              '  [runners.docker]\n    image = "runnerkit-test/busybox:latest"\n    pull_policy = ["if-not-present"]\n',
          },
        ]),
      );
    }
    const project = await gitProject(work.path, 'lifecycle', { 'README.md': 'hello\n' });
    const cli = startCli(['run', '-c', config]);
    running.push(cli);
    await cli.waitFor(/Configuration loaded/);
    const created_ = await pipeline(project, 'hello:\n  script:\n    - cat README.md\n    - echo "in $CI_JOB_NAME"\n');
    const job = await until(finished(created_.jobs[0]!.id), 90_000, 'the job to finish');
    expect(job.status, job.trace).toBe('success');
    expect(job.trace).toContain('Using Docker executor');
    expect(job.trace).toContain('in hello');
    cli.child.kill('SIGQUIT');
    expect(await cli.exited).toBe(0);
    expect(await dockerObjects(shortTokenOf(created.token))).toMatchObject({ containers: [], networks: [] });

    if (await hasCommand('unregister')) {
      const removed = await runCli(['unregister', '-c', config, '--name', 'e2e-docker']);
      expect(removed.code, removed.stderr).toBe(0);
    } else {
      const response = await fetch(`${coordinator.url}/api/v4/runners/managers`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: created.token, system_id: 'e2e' }),
      });
      expect([204, 404]).toContain(response.status);
    }
  });

  it('SIGTERM: the running Docker job fails with runner_interrupted, its container is removed, exit within shutdown_timeout', async () => {
    const config = join(work.path, 'term.toml');
    const runner = coordinator.createRunner({ tags: ['term'], runUntagged: false });
    tokens.push(runner.token);
    await writeFile(
      config,
      configToml([
        {
          name: 'term',
          url: coordinator.url,
          token: runner.token,
          executor: 'docker',
          extra:
            '  [runners.docker]\n    image = "runnerkit-test/busybox:latest"\n    pull_policy = ["if-not-present"]\n',
        },
      ]),
    );
    const cli = startCli(['run', '-c', config]);
    running.push(cli);
    await cli.waitFor(/Configuration loaded/);
    const project = await gitProject(work.path, 'term', { 'README.md': 'x\n' });
    const created = await pipeline(project, 'forever:\n  tags: [term]\n  script: ["echo started", "sleep 120"]\n');
    const id = created.jobs[0]!.id;
    await until(() => (coordinator.job(id)?.trace.includes('$ sleep 120') ? true : undefined), 90_000, 'the script');
    const started = Date.now();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const job = coordinator.job(id);
    expect(job?.status).toBe('failed');
    expect(job?.failure_reason).toBe('runner_interrupted');
    expect(job?.trace).toContain('ERROR: Job failed: aborted: SIGTERM');
    expect((await dockerObjects(shortTokenOf(runner.token))).containers).toEqual([]);
  });
});
