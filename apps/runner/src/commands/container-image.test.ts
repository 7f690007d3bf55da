// runnerkit in a container (scripts/build-image + apps/runner/Dockerfile): the image prints the help like
// gitlab/gitlab-runner does, registers a runner into its /etc/gitlab-runner volume, and `runnerkit run` inside it
// (host networking: the coordinator listens on the host's 127.0.0.1) completes a job. The image, the containers and
// their anonymous volumes are removed afterwards.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const FIXTURE = join(ROOT, '..', 'shared', 'spec', 'fixtures', 'api', 'job-minimal.json');

describeWithComponent('images', 'runnerkit in a container', () => {
  const tag = `runnerkit/runnerkit:test-${process.pid}-${Date.now()}`;
  const configDir = mkdtempSync(join(tmpdir(), 'runnerkit-container-'));
  const containers: string[] = [];
  let coordinator: Coordinator;

  beforeAll(async () => {
    await run(join(ROOT, 'scripts', 'build-image'), ['--tag', tag], { timeout: 170_000 });
    coordinator = await createCoordinator();
  }, 180_000);

  afterAll(async () => {
    for (const name of containers) await run(DOCKER, ['rm', '-f', '-v', name]).catch(() => undefined);
    await run(DOCKER, ['image', 'rm', '-f', tag]).catch(() => undefined);
    await coordinator?.close();
    // Files the container wrote as root.
    rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  it('prints the help with `docker run --rm IMAGE --help`', async () => {
    const { stdout } = await run(DOCKER, ['run', '--rm', tag, '--help']);
    expect(stdout).toContain('Usage: runnerkit [options] [command]');
    expect(stdout).toMatch(/register \[options\] +register a new runner/);
  });

  it('registers into the /etc/gitlab-runner volume, then `run` completes a job against the coordinator', async () => {
    const created = coordinator.createRunner();
    const register = await run(DOCKER, [
      'run',
      '--rm',
      '--network',
      'host',
      '-v',
      `${configDir}:/etc/gitlab-runner`,
      tag,
      'register',
      '--non-interactive',
      '--url',
      coordinator.url,
      '--token',
      created.token,
      '--executor',
      'shell',
      '--name',
      'in-a-container',
    ]);
    expect(register.stderr).toContain('Runner registered successfully');
    expect(readFileSync(join(configDir, 'config.toml'), 'utf8')).toContain('name = "in-a-container"');

    const payload = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    payload.steps = [
      {
        name: 'script',
        script: ['echo "hello from $(hostname -s) at $CI_JOB_NAME"'],
        timeout: 600,
        when: 'on_success',
        allow_failure: false,
      },
    ];
    payload.variables.push({ key: 'GIT_STRATEGY', value: 'none', public: true, masked: false });
    const job = coordinator.createJob(payload);

    const name = `runnerkit-container-test-${process.pid}-${Date.now()}`;
    containers.push(name);
    await run(DOCKER, [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      '-e',
      'TZ=Europe/Paris',
      '-v',
      `${configDir}:/etc/gitlab-runner`,
      tag,
    ]);
    let status = '';
    for (let attempt = 0; attempt < 120 && !['success', 'failed', 'canceled'].includes(status); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = coordinator.job(job.id)?.status ?? '';
    }
    const logs = await run(DOCKER, ['logs', name]);
    expect(status, `${logs.stdout}${logs.stderr}\n${coordinator.job(job.id)?.trace}`).toBe('success');
    expect(String(coordinator.job(job.id)?.trace)).toContain('hello from');
    expect(`${logs.stdout}${logs.stderr}`).not.toContain(created.token);
    // SIGQUIT (the image's STOPSIGNAL) is GitLab Runner's graceful stop: the container exits by itself.
    await run(DOCKER, ['stop', '-t', '20', name]);
    const { stdout: exitCode } = await run(DOCKER, ['inspect', '-f', '{{.State.ExitCode}}', name]);
    expect(exitCode.trim()).toBe('0');
  }, 120_000);
});
