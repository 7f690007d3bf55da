// Jobs through the SSH executor against the real sshd (127.0.0.1:2222, key user), with `runnerkit run` (known_hosts
// from GitLab's default, ~/.ssh/known_hosts of the runner's user) and with `runnerkit exec --executor ssh`
// (known_hosts_file); relative builds dirs land under the remote home directory.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  configToml,
  gitProject,
  runCli,
  shortTokenOf,
  startCli,
  stopCli,
  temporaryDirectory,
  until,
} from './support.js';

describeWithComponent('ssh', 'jobs through the SSH executor', (ssh) => {
  let coordinator: Coordinator;
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  /** Remote build directories the jobs made (the sshd runs on this machine), removed at the end. */
  const remoteDirs = new Set<string>();

  beforeAll(async () => {
    coordinator = await createCoordinator();
    work = await temporaryDirectory('ssh');
  });
  afterAll(async () => {
    for (const dir of remoteDirs) await rm(dir, { recursive: true, force: true });
    await coordinator?.close();
    await work?.remove();
  });

  const sshSection = (knownHostsFile = '') =>
    `  [runners.ssh]\n    host = "${ssh.host}"\n    port = "${ssh.port}"\n    user = "${ssh.keyUser}"\n    identity_file = "${ssh.keyFile}"\n    known_hosts_file = "${knownHostsFile}"\n`;

  /** `<home>/builds/<short token>` from a job's `pwd` line. */
  const rememberBuildsDir = (trace: string, short: string) => {
    // trace lines carry a timestamp and stream prefix before the output
    const match = new RegExp(` (/\\S+/builds/${short})/`).exec(trace);
    if (match?.[1]) remoteDirs.add(match[1]);
    return match?.[1];
  };

  it('runnerkit run: known_hosts from ~/.ssh/known_hosts, builds under the remote home directory', async () => {
    const home = join(work.path, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await copyFile(ssh.knownHosts, join(home, '.ssh', 'known_hosts'));
    const runner = coordinator.createRunner({ description: 'ssh' });
    const short = shortTokenOf(runner.token);
    const config = join(work.path, 'run.toml');
    await writeFile(
      config,
      configToml([{ name: 'ssh', url: coordinator.url, token: runner.token, executor: 'ssh', extra: sshSection() }]),
    );
    const cli = startCli(['run', '-c', config], { env: { HOME: home, XDG_CACHE_HOME: join(work.path, 'cache') } });
    try {
      await cli.waitFor(/Configuration loaded/);
      const project = await gitProject(work.path, 'run-ssh', { 'README.md': 'over ssh\n' });
      const response = await fetch(`${coordinator.url}/-/pipelines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          yaml: 'remote:\n  script:\n    - pwd\n    - cat README.md\n    - whoami\n',
          project_dir: project,
        }),
      });
      const { jobs } = (await response.json()) as { jobs: Array<{ id: number }> };
      const job = await until(
        () => {
          const view = coordinator.job(jobs[0]!.id);
          return view && ['success', 'failed'].includes(view.status) ? view : undefined;
        },
        60_000,
        'the SSH job',
      );
      const buildsDir = rememberBuildsDir(job.trace, short);
      expect(job.status, job.trace + cli.stderr).toBe('success');
      expect(job.trace).toContain('Using SSH executor');
      expect(job.trace).toContain('over ssh');
      expect(job.trace).toMatch(new RegExp(` ${ssh.keyUser}$`, 'm'));
      // the relative default `builds` was made absolute against the remote home directory
      expect(buildsDir).toMatch(new RegExp(`^/.*/builds/${short}$`));
      cli.child.kill('SIGQUIT');
      expect(await cli.exited).toBe(0);
    } finally {
      await stopCli(cli);
    }
  });

  it('runnerkit exec --executor ssh takes [runners.ssh] from -c (known_hosts_file) and passes the pipeline', async () => {
    const config = join(work.path, 'exec.toml');
    await writeFile(
      config,
      configToml([
        {
          name: 'remote',
          url: 'https://gitlab.invalid',
          token: 'glrt-unused',
          executor: 'shell',
          extra: sshSection(ssh.knownHosts),
        },
      ]),
    );
    const project = await gitProject(work.path, 'exec-ssh', {
      '.gitlab-ci.yml': 'remote:\n  script:\n    - pwd\n    - echo "exec over ssh as $(whoami)"\n',
    });
    const result = await runCli(['exec', '-c', config, '--executor', 'ssh', '--cwd', project], {
      env: { XDG_CACHE_HOME: join(work.path, 'cache') },
      timeoutMs: 90_000,
    });
    for (const line of result.stdout.split('\n')) {
      const match = /^remote +\| (\/\S+\/builds\/[^/\s]+)\//.exec(line);
      if (match?.[1]) remoteDirs.add(match[1]);
    }
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Using SSH executor');
    expect(result.stdout).toMatch(new RegExp(`^remote +\\| exec over ssh as ${ssh.keyUser}$`, 'm'));
    expect(remoteDirs.size).toBeGreaterThan(0);
  });
});
