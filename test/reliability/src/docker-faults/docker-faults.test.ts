// Docker faults through `runnerkit run` with the Docker executor: each faulty job fails with the right
// failure_reason and a clear job-log message, the runner keeps serving the next job, and nothing the runner
// labelled (container, network, volume — the cache is disabled, so every volume is temporary) is left behind.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { describeWithComponent, requireComponent } from '@runnerkit/testkit';
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
} from '../support/runner.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeWithComponent('images', 'Docker faults through `runnerkit run`', (images) => {
  const registry = requireComponent('registry');
  let coordinator: Coordinator;
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  let cli: CliProcess;
  let project = '';
  const tokens: string[] = [];
  const POLICIES = ['never', 'if-not-present', 'always'] as const;

  beforeAll(async () => {
    coordinator = await createCoordinator();
    work = await temporaryDirectory('docker-faults');
    const entries = [];
    for (const policy of [...POLICIES, 'oom'] as const) {
      const runner = coordinator.createRunner({ tags: [`docker-${policy}`], runUntagged: false });
      tokens.push(runner.token);
      entries.push({
        name: `docker-${policy}`,
        url: coordinator.url,
        token: runner.token,
        executor: 'docker' as const,
        extra: [
          '  [runners.docker]',
          // `always` pulls every time: its default image comes from the local registry (there is no Docker Hub)
          `    image = "${policy === 'always' ? `${registry.plain}/${images.busybox}` : images.busybox}"`,
          `    pull_policy = ["${policy === 'oom' ? 'if-not-present' : policy}"]`,
          '    disable_cache = true',
          '    wait_for_services_timeout = 3',
          policy === 'oom' ? '    memory = "24m"\n    memory_swap = "24m"' : '',
          '',
        ].join('\n'),
      });
    }
    const config = join(work.path, 'docker-faults.toml');
    await writeFile(config, configToml(entries));
    cli = startCli(['run', '-c', config]);
    await cli.waitFor(/Configuration loaded/);
    project = await gitProject(work.path, 'docker-faults', { 'README.md': 'docker faults\n' });
  });
  afterAll(async () => {
    await cli?.stop();
    for (const token of tokens) {
      const left = await labelledObjects(shortTokenOf(token));
      count('leftoversFound', left.containers.length + left.networks.length + left.volumes.length);
      await removeLabelledObjects(shortTokenOf(token));
    }
    await coordinator?.close();
    await work?.remove();
  });

  async function runJob(tag: string, body: string) {
    const created = await createPipeline(coordinator, project, `job:\n  tags: [${tag}]\n${body}`);
    const job = await finishedJob(coordinator, created.jobs[0]?.id as number, 120_000);
    count('jobsRun');
    count('traceBytesChecked', Buffer.byteLength(job.trace));
    return job;
  }

  async function expectNothingLeft(tag: string): Promise<void> {
    const token = tokens[[...POLICIES, 'oom'].indexOf(tag.replace('docker-', '') as 'never')] as string;
    const left = await labelledObjects(shortTokenOf(token));
    expect(left).toEqual({ containers: [], volumes: [], networks: [] });
  }

  async function expectStillServing(tag: string): Promise<void> {
    const next = await runJob(tag, '  script: [echo still-serving]\n');
    expect(next.status, next.trace.slice(-1500)).toBe('success');
    expect(next.trace).toContain('still-serving');
    await expectNothingLeft(tag);
  }

  // GitLab Runner's classification (image-policy's classifyPullFailure): a missing image is a configuration error;
  // with `never` the runner's own image_pull_failure, sent as runner_system_failure to a GitLab that does not list it.
  const EXPECTED_REASON = {
    never: 'runner_system_failure',
    'if-not-present': 'runner_configuration_error',
    always: 'runner_configuration_error',
  } as const;

  for (const policy of POLICIES) {
    it(`image missing with pull_policy ${policy}: ${EXPECTED_REASON[policy]}, a clear message, the runner goes on`, async () => {
      const missing = `${registry.plain}/runnerkit-test/missing:latest`;
      const job = await runJob(`docker-${policy}`, `  image: ${missing}\n  script: [echo never]\n`);
      count('faultsInjected');
      expect(job.status).toBe('failed');
      expect(job.failure_reason).toBe(EXPECTED_REASON[policy]);
      expect(job.trace).toContain(missing);
      expect(job.trace).toMatch(/ERROR: Job failed.*(not found|manifest unknown|No such image|pull)/i);
      expect(job.trace).not.toContain('$ echo never');
      await expectNothingLeft(`docker-${policy}`);
      await expectStillServing(`docker-${policy}`);
    });
  }

  it('registry down (nothing listens on its port): runner_external_dependency_failure, the runner goes on', async () => {
    const image = `127.0.0.1:${await freePort()}/runnerkit-test/busybox:latest`;
    const job = await runJob('docker-always', `  image: ${image}\n  script: [echo never]\n`);
    count('faultsInjected');
    expect(job.status).toBe('failed');
    expect(job.failure_reason).toBe('runner_external_dependency_failure');
    expect(job.trace).toMatch(/connection refused/i);
    await expectNothingLeft('docker-always');
    await expectStillServing('docker-always');
  });

  it('a container killed by the OOM killer (memory = 24m): script failure with exit code 137', async () => {
    const job = await runJob('docker-oom', '  script: ["echo allocating", "head -c 200m /dev/zero | tail"]\n');
    count('faultsInjected');
    expect(job.status).toBe('failed');
    expect(job.failure_reason).toBe('script_failure');
    expect(job.exit_code).toBe(137);
    expect(job.trace).toMatch(/ERROR: Job failed: exit code 137/);
    await expectNothingLeft('docker-oom');
    await expectStillServing('docker-oom');
  });

  it('a service that never becomes healthy: a warning in the job log, the job still runs', async () => {
    const job = await runJob(
      'docker-if-not-present',
      [
        '  services:',
        `    - name: ${images.serviceHttp}`,
        '      alias: never-ready',
        '      entrypoint: ["sleep"]',
        '      command: ["300"]',
        '  script: [echo script-ran]',
        '',
      ].join('\n'),
    );
    count('faultsInjected');
    expect(job.status, job.trace.slice(-2000)).toBe('success');
    expect(job.trace).toMatch(/WARNING:.* Service .* probably didn't start properly/);
    expect(job.trace).toContain('script-ran');
    await expectNothingLeft('docker-if-not-present');
  });
});
