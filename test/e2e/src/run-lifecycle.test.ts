import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { requireComponent } from '@runnerkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliProcess,
  configToml,
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

async function _hasCommand(name: string): Promise<boolean> {
  const result = await runCli([name, '--help'], { timeoutMs: 20_000 });
  return result.code === 0;
}

describe('runnerkit run against the coordinator and dockerd', () => {
  it('reloads the config when the file changes and on SIGHUP; an unsupported executor is refused, the others work', async () => {
    const config = join(work.path, 'reload.toml');
    const a = coordinator.createRunner({ tags: ['reload-a'], runUntagged: false });
    const b = coordinator.createRunner({ tags: ['reload-b'], runUntagged: false });
    const c = coordinator.createRunner({ tags: ['reload-c'], runUntagged: false });
    const shell = (name: string, token: string) => ({
      name,
      url: coordinator.url,
      token,
      executor: 'shell',
      extra: `  builds_dir = "${work.path}/builds"\n  cache_dir = "${work.path}/cache"\n`,
    });
    await writeFile(
      config,
      configToml([shell('a', a.token), { name: 'k8s', url: coordinator.url, token: a.token, executor: 'kubernetes' }]),
    );
    const cli = startCli(['run', '-c', config, '--listen-address', '127.0.0.1:0']);
    running.push(cli);
    await cli.waitFor(/Configuration loaded/);
    expect(cli.stderr).toContain('executor "kubernetes" is not supported by runnerkit');
    const metricsUrl = /Metrics server listening.*address=(http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stderr)?.[1];
    expect(metricsUrl).toBeDefined();

    const project = await gitProject(work.path, 'reload', { 'README.md': 'x\n' });
    const first = await pipeline(
      project,
      'a:\n  tags: [reload-a]\n  script: [echo a]\nb:\n  tags: [reload-b]\n  script: [echo b]\n',
    );
    const jobA = await until(finished(first.jobs.find((job) => job.name === 'a')!.id), 30_000, 'job a');
    expect(jobA.status).toBe('success');
    const exposition = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(exposition).toMatch(/^gitlab_runner_jobs_total\{[^}]*runner_name="a"[^}]*\} 1$/m);
    expect(exposition).toMatch(/^gitlab_runner_concurrent 4$/m);
    // b has no runner yet
    expect(coordinator.job(first.jobs.find((job) => job.name === 'b')!.id)?.status).toBe('pending');

    // the file changes: picked up within the 3 s check
    await writeFile(config, configToml([shell('a', a.token), shell('b', b.token)]));
    const jobB = await until(finished(first.jobs.find((job) => job.name === 'b')!.id), 30_000, 'job b');
    expect(jobB.status).toBe('success');
    await cli.waitFor(/Configuration loaded.*reason=config file changed/);

    // SIGHUP reloads at once
    await writeFile(config, configToml([shell('a', a.token), shell('b', b.token), shell('c', c.token)]));
    cli.child.kill('SIGHUP');
    await cli.waitFor(/reason=SIGHUP/, 10_000);
    const second = await pipeline(project, 'c:\n  tags: [reload-c]\n  script: [echo c]\n');
    expect((await until(finished(second.jobs[0]!.id), 30_000, 'job c')).status).toBe('success');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('SIGQUIT: takes no new job, lets the running one finish, then exits 0', async () => {
    const config = join(work.path, 'quit.toml');
    const runner = coordinator.createRunner({ tags: ['quit'], runUntagged: false });
    await writeFile(
      config,
      configToml([
        {
          name: 'quit',
          url: coordinator.url,
          token: runner.token,
          executor: 'shell',
          extra: `  builds_dir = "${work.path}/builds"\n  cache_dir = "${work.path}/cache"\n`,
        },
      ]),
    );
    const cli = startCli(['run', '-c', config]);
    running.push(cli);
    await cli.waitFor(/Configuration loaded/);
    const project = await gitProject(work.path, 'quit', { 'README.md': 'x\n' });
    const first = await pipeline(project, 'slow:\n  tags: [quit]\n  script: ["sleep 3", "echo slept"]\n');
    await until(() => (coordinator.job(first.jobs[0]!.id)?.status === 'running' ? true : undefined), 30_000, 'running');
    cli.child.kill('SIGQUIT');
    await cli.waitFor(/graceful shutdown/);
    const second = await pipeline(project, 'later:\n  tags: [quit]\n  script: [echo later]\n');
    expect(await cli.exited).toBe(0);
    const slow = coordinator.job(first.jobs[0]!.id);
    expect(slow?.status).toBe('success');
    expect(slow?.trace).toContain('slept');
    expect(coordinator.job(second.jobs[0]!.id)?.status).toBe('pending');
    await fetch(`${coordinator.url}/-/jobs/${second.jobs[0]!.id}/cancel?force=true`, { method: 'POST' });
  });

  it('runnerkit coordinator prints where it listens first', async () => {
    const cli = startCli(['coordinator', '--listen', '127.0.0.1:0']);
    running.push(cli);
    await cli.waitFor(/registration token/);
    const first = cli.stdout.split('\n')[0]!;
    expect(first).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${first.slice('listening on '.length)}/-/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
