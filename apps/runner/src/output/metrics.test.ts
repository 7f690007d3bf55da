import { describe, expect, it } from 'vitest';
import { createRunnerMetrics, parseListenAddress } from './metrics.js';

const runner = { token: 'glrt-abcdefgh12345678', name: 'laptop', systemId: 's_sysidsysidxy' };

function sample(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('runner metrics', () => {
  it('exposes GitLab Runner’s metric names and labels, never the whole token', async () => {
    const metrics = createRunnerMetrics({ version: '1.2.3', revision: 'abc12345', os: 'linux', architecture: 'amd64' });
    metrics.setConcurrent(4);
    metrics.setLimit(runner, 2);
    metrics.jobStarted(runner);
    metrics.jobStarted(runner);
    metrics.jobStage(runner, 'build_script');
    metrics.jobFinished(runner, 'failed', 'script_failure', 12);
    metrics.apiRequest(runner, 'request_job', 201, 'POST', 0.02);
    metrics.apiRequest(runner, 'request_job', 204, 'POST');
    metrics.error('warn');
    const text = await metrics.exposition();
    expect(text).not.toContain('12345678');
    expect(sample(text, 'gitlab_runner_version_info')).toMatchInlineSnapshot(`
      [
        "gitlab_runner_version_info{name="runnerkit",version="1.2.3",revision="abc12345",branch="",built_at="",os="linux",architecture="amd64"} 1",
      ]
    `);
    expect(sample(text, 'gitlab_runner_concurrent')).toEqual(['gitlab_runner_concurrent 4']);
    expect(sample(text, 'gitlab_runner_limit')).toEqual([
      'gitlab_runner_limit{runner="glrt-abcdefgh",runner_name="laptop",system_id="s_sysidsysidxy"} 2',
    ]);
    expect(sample(text, 'gitlab_runner_jobs')).toMatchInlineSnapshot(`
      [
        "gitlab_runner_jobs{runner="glrt-abcdefgh",runner_name="laptop",system_id="s_sysidsysidxy",state="running",stage="",executor_stage="prepare_executor"} 1",
        "gitlab_runner_jobs{runner="glrt-abcdefgh",runner_name="laptop",system_id="s_sysidsysidxy",state="running",stage="",executor_stage="build_script"} 0",
      ]
    `);
    expect(sample(text, 'gitlab_runner_jobs_total')).toEqual([
      'gitlab_runner_jobs_total{runner="glrt-abcdefgh",runner_name="laptop",system_id="s_sysidsysidxy"} 2',
    ]);
    expect(sample(text, 'gitlab_runner_failed_jobs_total')).toEqual([
      'gitlab_runner_failed_jobs_total{runner="glrt-abcdefgh",runner_name="laptop",failure_reason="script_failure"} 1',
    ]);
    expect(sample(text, 'gitlab_runner_api_request_statuses_total')).toEqual([
      'gitlab_runner_api_request_statuses_total{runner="glrt-abcdefgh",system_id="s_sysidsysidxy",endpoint="request_job",status="201",method="POST"} 1',
      'gitlab_runner_api_request_statuses_total{runner="glrt-abcdefgh",system_id="s_sysidsysidxy",endpoint="request_job",status="204",method="POST"} 1',
    ]);
    expect(sample(text, 'gitlab_runner_errors_total')).toEqual([
      'gitlab_runner_errors_total{level="panic"} 0',
      'gitlab_runner_errors_total{level="fatal"} 0',
      'gitlab_runner_errors_total{level="error"} 0',
      'gitlab_runner_errors_total{level="warning"} 1',
    ]);
    expect(text).toContain(
      'gitlab_runner_job_duration_seconds_bucket{le="30",runner="glrt-abcdefgh",runner_name="laptop",system_id="s_sysidsysidxy"} 1',
    );
    expect(text).toContain('gitlab_runner_api_request_duration_seconds_count{runner="glrt-abcdefgh"');
  });

  it('serves /metrics and /health on 127.0.0.1 and 404 elsewhere', async () => {
    const metrics = createRunnerMetrics({ version: '0.0.0' });
    metrics.setConcurrent(1);
    const server = await metrics.serve('127.0.0.1:0');
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const scraped = await fetch(`${server.url}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toContain('text/plain');
      expect(await scraped.text()).toContain('gitlab_runner_concurrent 1');
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const missing = await fetch(`${server.url}/nope`);
      expect(missing.status).toBe(404);
      await missing.text();
    } finally {
      await server.close();
    }
  });

  it('parses listen_address as GitLab writes it', () => {
    expect(parseListenAddress(':9252')).toEqual({ host: '127.0.0.1', port: 9252 });
    expect(parseListenAddress('0.0.0.0:9252')).toEqual({ host: '0.0.0.0', port: 9252 });
    expect(parseListenAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(() => parseListenAddress('9252')).toThrow(/not host:port/);
  });
});
