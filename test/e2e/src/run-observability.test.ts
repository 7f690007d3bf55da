// What `runnerkit run` tells its operator: log lines through output/logger (json format, --debug) that never hold
// a token, and /metrics on listen_address with the API request counters GitLab Runner exposes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, configToml, gitProject, startCli, stopCli, temporaryDirectory, until } from './support.js';

let coordinator: Coordinator;
let work: Awaited<ReturnType<typeof temporaryDirectory>>;
const running: CliProcess[] = [];

beforeAll(async () => {
  coordinator = await createCoordinator();
  work = await temporaryDirectory('observability');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map(stopCli));
});
afterAll(async () => {
  await coordinator?.close();
  await work?.remove();
});

function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('runnerkit run: logs and metrics', () => {
  it('logs JSON with --debug and no token in it; /metrics counts request_job, update_job and patch_trace by status', async () => {
    const runner = coordinator.createRunner({ description: 'observed' });
    // a second entry with a token GitLab refuses: its 403s are logged and counted, its token never printed
    const refused = 'glrt-refusedtokenabcdefghij';
    const config = join(work.path, 'config.toml');
    const runnerExtra = `  builds_dir = "${join(work.path, 'builds')}"\n  cache_dir = "${join(work.path, 'cache')}"\n`;
    await writeFile(
      config,
      configToml(
        [
          { name: 'observed', url: coordinator.url, token: runner.token, executor: 'shell', extra: runnerExtra },
          { name: 'refused', url: coordinator.url, token: refused, executor: 'shell', extra: runnerExtra },
        ],
        'concurrent = 2\ncheck_interval = 1\nlisten_address = "127.0.0.1:0"\n',
      ),
    );
    const cli = startCli(['--log-format', 'json', '--debug', 'run', '-c', config], {
      env: { XDG_CACHE_HOME: join(work.path, 'cache-home') },
    });
    running.push(cli);
    await cli.waitFor(/"msg":"Metrics server listening"/);
    const address = logLines(cli.stderr).find((line) => line.msg === 'Metrics server listening')?.address;
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const project = await gitProject(work.path, 'observed', { 'README.md': 'hello\n' });
    const response = await fetch(`${coordinator.url}/-/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml: 'hello:\n  script: [cat README.md]\n', project_dir: project }),
    });
    const pipeline = (await response.json()) as { jobs: Array<{ id: number }> };
    const id = pipeline.jobs[0]!.id;
    const job = await until(
      () => {
        const view = coordinator.job(id);
        return view && ['success', 'failed'].includes(view.status) ? view : undefined;
      },
      60_000,
      'the job',
    );
    expect(job.status, job.trace).toBe('success');
    await cli.waitFor(/"msg":"Job succeeded"/);
    await cli.waitFor(/Checking for jobs\.\.\. forbidden/);

    const metrics = await (await fetch(`${address}/metrics`)).text();
    const statuses = metrics
      .split('\n')
      .filter((line) => line.startsWith('gitlab_runner_api_request_statuses_total{'))
      .map((line) => line.replace(/runner="[^"]+",system_id="[^"]+",/, '').replace(/} \d+$/, '}'));
    expect(statuses).toEqual(
      expect.arrayContaining([
        'gitlab_runner_api_request_statuses_total{endpoint="request_job",status="201",method="POST"}',
        'gitlab_runner_api_request_statuses_total{endpoint="request_job",status="403",method="POST"}',
        'gitlab_runner_api_request_statuses_total{endpoint="update_job",status="200",method="PUT"}',
        'gitlab_runner_api_request_statuses_total{endpoint="patch_trace",status="202",method="PATCH"}',
      ]),
    );
    expect(metrics).toContain('gitlab_runner_jobs_total{');
    expect(metrics).not.toContain(runner.token);

    cli.child.kill('SIGQUIT');
    expect(await cli.exited).toBe(0);
    const lines = logLines(cli.stderr);
    expect(lines.length).toBeGreaterThan(5);
    expect(
      lines.some((line) => line.level === 'debug' && String(line.msg).startsWith('POST /api/v4/jobs/request')),
    ).toBe(true);
    for (const secret of [runner.token, refused, runner.token.slice(5), refused.slice(5)])
      expect(cli.stderr + cli.stdout).not.toContain(secret);
  });
});
