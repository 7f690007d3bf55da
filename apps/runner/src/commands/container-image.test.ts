// runnerkit in a container (scripts/build-image + apps/runner/Dockerfile): the image prints the help like
// gitlab/gitlab-runner does, registers a runner into its /etc/gitlab-runner volume, and `runnerkit run` inside it
// (host networking: the coordinator listens on the host's 127.0.0.1) completes a job. The image, the containers and
// their anonymous volumes are removed afterwards.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { shortToken } from '@runnerkit/job-runtime';
import { describeWithComponent, requireComponent } from '@runnerkit/testkit';
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
  let dockerShortToken: string | undefined;

  beforeAll(async () => {
    await run(join(ROOT, 'scripts', 'build-image'), ['--tag', tag], { timeout: 170_000 });
    coordinator = await createCoordinator();
  }, 180_000);

  afterAll(async () => {
    for (const name of containers) await run(DOCKER, ['rm', '-f', '-v', name]).catch(() => undefined);
    if (dockerShortToken) {
      // Whatever the Docker executor left (it should leave nothing with disable_cache).
      const filter = `label=com.gitlab.gitlab-runner.runner.id=${dockerShortToken}`;
      for (const kind of ['container', 'volume', 'network'] as const) {
        const { stdout } = await run(DOCKER, [
          kind,
          'ls',
          ...(kind === 'container' ? ['-a'] : []),
          '-q',
          '--filter',
          filter,
        ]);
        const ids = stdout.split('\n').filter(Boolean);
        if (ids.length > 0)
          await run(DOCKER, [kind, 'rm', ...(kind === 'network' ? [] : ['-f']), ...ids]).catch(() => undefined);
      }
    }
    await run(DOCKER, ['image', 'rm', '-f', tag]).catch(() => undefined);
    await coordinator?.close();
    // Files the container wrote as root.
    rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  it('prints the help with `docker run --rm IMAGE --help`', async () => {
    const { stdout } = await run(DOCKER, ['run', '--rm', tag, '--help']);
    expect(stdout).toContain('Usage: runnerkit [options] [command]');
    // --help lists every command without loading their modules (so without their flags)
    expect(stdout).toMatch(/^ {2}register +register a new runner$/m);
    const command = await run(DOCKER, ['run', '--rm', tag, 'register', '--help']);
    expect(command.stdout).toContain('--registration-token');
  });

  it('registers into the /etc/gitlab-runner volume; `run` completes a shell job and a Docker job (mounted socket)', async () => {
    const shellRunner = coordinator.createRunner({ tags: ['shell'] });
    const dockerRunner = coordinator.createRunner({ tags: ['docker'] });
    dockerShortToken = shortToken(dockerRunner.token);
    const volumes = ['-v', `${configDir}:/etc/gitlab-runner`];
    const register = await run(DOCKER, [
      ...['run', '--rm', '--network', 'host', ...volumes, tag, 'register', '--non-interactive'],
      ...['--url', coordinator.url, '--token', shellRunner.token, '--executor', 'shell', '--name', 'in-a-container'],
    ]);
    expect(register.stderr).toContain('Runner registered successfully');
    await run(DOCKER, [
      ...['run', '--rm', '--network', 'host', ...volumes, '-e', `CI_SERVER_URL=${coordinator.url}`],
      ...['-e', `CI_SERVER_TOKEN=${dockerRunner.token}`, '-e', 'RUNNER_EXECUTOR=docker', tag, 'register', '-n'],
      ...['--name', 'docker-in-a-container', '--docker-image', 'runnerkit-test/busybox:latest'],
      ...['--docker-pull-policy', 'if-not-present', '--docker-disable-cache'],
    ]);
    const config = readFileSync(join(configDir, 'config.toml'), 'utf8');
    expect(config).toContain('name = "in-a-container"');
    expect(config).toContain('name = "docker-in-a-container"');

    const payload = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const step = { name: 'script', timeout: 600, when: 'on_success', allow_failure: false };
    payload.variables.push({ key: 'GIT_STRATEGY', value: 'none', public: true, masked: false });
    const shellJob = coordinator.createJob(
      { ...payload, id: 7001, steps: [{ ...step, script: ['echo "shell job on $(hostname -s)"'] }] },
      { tags: ['shell'] },
    );
    const dockerJob = coordinator.createJob(
      {
        ...payload,
        id: 7002,
        image: { name: 'runnerkit-test/busybox:latest' },
        steps: [{ ...step, script: ['echo "docker job in $(hostname)"'] }],
      },
      { tags: ['docker'] },
    );

    // A CA in /etc/gitlab-runner/certs/ca.crt is trusted at start (any PEM CA will do: dockerd's test CA).
    mkdirSync(join(configDir, 'certs'), { recursive: true });
    copyFileSync(join(requireComponent('docker').tls.certPath, 'ca.pem'), join(configDir, 'certs', 'ca.crt'));
    const name = `runnerkit-container-test-${process.pid}-${Date.now()}`;
    containers.push(name);
    await run(DOCKER, [
      ...['run', '-d', '--name', name, '--network', 'host', '-e', 'TZ=Europe/Paris', ...volumes],
      ...['-v', '/var/run/docker.sock:/var/run/docker.sock', tag],
    ]);
    const done = (id: number) => ['success', 'failed', 'canceled'].includes(coordinator.job(id)?.status ?? '');
    for (let attempt = 0; attempt < 180 && !(done(shellJob.id) && done(dockerJob.id)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const logs = await run(DOCKER, ['logs', name]);
    const output = `${logs.stdout}${logs.stderr}`;
    for (const job of [shellJob, dockerJob]) {
      const view = coordinator.job(job.id);
      expect(view?.status, `${output}\n${view?.trace}`).toBe('success');
    }
    expect(String(coordinator.job(shellJob.id)?.trace)).toContain('shell job on ');
    expect(String(coordinator.job(dockerJob.id)?.trace)).toMatch(/docker job in runner-/);
    expect(output).not.toContain(shellRunner.token);
    expect(output).not.toContain(dockerRunner.token);
    const inside = await run(DOCKER, [
      ...['exec', name, 'sh', '-c'],
      'date +%Z; test -e /etc/ssl/certs/runnerkit-ca.pem && echo ca-trusted; tr "\\0" "\\n" < /proc/1/environ | grep ^NODE_EXTRA_CA_CERTS=',
    ]);
    expect(inside.stdout).toMatch(/^CES?T\nca-trusted\nNODE_EXTRA_CA_CERTS=\/etc\/gitlab-runner\/certs\/ca.crt\n$/);
    // SIGQUIT (the image's STOPSIGNAL) is GitLab Runner's graceful stop: the container exits by itself.
    await run(DOCKER, ['stop', '-t', '20', name]);
    const { stdout: exitCode } = await run(DOCKER, ['inspect', '-f', '{{.State.ExitCode}}', name]);
    expect(exitCode.trim()).toBe('0');

    const unregister = await run(DOCKER, [
      ...['run', '--rm', '--network', 'host', ...volumes, tag, 'unregister', '--all-runners'],
    ]);
    expect(unregister.stderr).toContain('Unregistering runner manager from GitLab succeeded');
    expect(readFileSync(join(configDir, 'config.toml'), 'utf8')).not.toContain('[[runners]]');
    for (const runner of [shellRunner, dockerRunner]) {
      expect(coordinator.runners().find((entry) => entry.id === runner.id)?.managers).toEqual([]);
    }
  }, 150_000);
});
