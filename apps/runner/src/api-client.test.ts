import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator } from '@runnerkit/coordinator';
import { describe, expect, it } from 'vitest';
import { apiEndpointName, createRunnerClient } from './api-client.js';

describe('the runner client', () => {
  it('names GitLab Runner’s counted endpoints and nothing else', () => {
    expect(apiEndpointName('POST', '/api/v4/jobs/request')).toBe('request_job');
    expect(apiEndpointName('PUT', '/gitlab/api/v4/jobs/42')).toBe('update_job');
    expect(apiEndpointName('PATCH', '/api/v4/jobs/42/trace')).toBe('patch_trace');
    expect(apiEndpointName('POST', '/api/v4/runners/reset_authentication_token')).toBe('reset_token');
    expect(apiEndpointName('POST', '/api/v4/runners/verify')).toBeUndefined();
    expect(apiEndpointName('POST', '/api/v4/jobs/42/artifacts')).toBeUndefined();
  });

  it('sends the entry’s executor and shell (bash by default) and hands every request to onEvent', async () => {
    await using coordinator = await createCoordinator();
    const runner = coordinator.createRunner();
    const events: string[] = [];
    const client = createRunnerClient(
      { url: coordinator.url, token: runner.token, executor: 'docker' },
      { onEvent: (event) => event.type === 'request-end' && events.push(`${event.method} ${event.status}`) },
    );
    try {
      expect((await client.requestJob({ token: runner.token, systemId: 's_0123456789ab' })).kind).toBe('no-job');
    } finally {
      await client.close();
    }
    expect(events).toEqual(['POST 204']);
    const body = JSON.parse(String(coordinator.requests({ endpoint: 'job-request' })[0]?.body ?? '{}'));
    expect(body.info).toMatchObject({ name: 'runnerkit', executor: 'docker', shell: 'bash' });
  });

  it('spools job traces in traceSpoolDirectory and removes the file when the job ends', async () => {
    await using coordinator = await createCoordinator();
    const dir = await mkdtemp(join(tmpdir(), 'rk-runner-spool-'));
    const runner = coordinator.createRunner();
    const client = createRunnerClient(
      { url: coordinator.url, token: runner.token, executor: 'shell' },
      { traceSpoolDirectory: join(dir, 'traces') },
    );
    try {
      coordinator.createJob({ job_info: { name: 'spooled' }, steps: [{ name: 'script', script: ['true'] }] });
      const request = await client.requestJob({ token: runner.token, systemId: 's_0123456789ab' });
      if (request.kind !== 'job') throw new Error(`expected a job, got ${request.kind}`);
      const session = client.startJob(request.job, { runnerToken: runner.token });
      await session.acknowledge();
      session.write(Buffer.alloc(3 * 1024 * 1024, 'x'));
      for (let i = 0; i < 200 && (await readdir(join(dir, 'traces')).catch(() => [])).length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await readdir(join(dir, 'traces'))).toEqual([expect.stringMatching(/^trace-\d+-[0-9a-f]{12}\.log$/)]);
      expect((await session.finish({ state: 'success' })).outcome).toBe('delivered');
      expect(await readdir(join(dir, 'traces'))).toEqual([]);
      expect(coordinator.trace(request.job.id).length).toBe(3 * 1024 * 1024);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
