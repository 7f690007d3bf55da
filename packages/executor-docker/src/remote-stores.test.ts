// The runtime's ports with real stores behind them: the shared cache through cache-adapters' S3 adapter against
// s3rver, and artifacts through job-api-client's artifact store against the coordinator (the fake GitLab).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cacheObjectName, downloadCacheObject, uploadCacheFile } from '@runnerkit/cache-adapters';
import { createS3Cache } from '@runnerkit/cache-adapters/s3';
import { createCoordinator } from '@runnerkit/coordinator';
import { createJobApiClient, createJobArtifactStore, type JobPayload } from '@runnerkit/job-api-client';
import type { ByteSource, CacheStore, RuntimeJobPayload } from '@runnerkit/job-runtime';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { describeWithComponent } from '@runnerkit/testkit';
import { describe, expect, it } from 'vitest';
import { countLabelled, job, testContext } from './test-support/docker.js';

const context = testContext('stores');
const short = context.runnerToken.slice(8, 17);
const producer = ['mkdir -p out/sub', 'echo one > out/sub/a.txt', 'echo top > b.txt'];

describeWithComponent('s3', 'shared cache through the S3 adapter (s3rver)', (s3) => {
  const adapter = createS3Cache({
    serverAddress: new URL(s3.endpoint).host,
    insecure: true,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucketName: s3.bucket,
  });
  const path = `runnerkit-test/executor-docker/${randomBytes(4).toString('hex')}`;
  const uploaded: string[] = [];
  /** job-runtime's CacheStore port over the adapter (what the CLI wires in for [runners.cache]). */
  const store: CacheStore = {
    async get(key, signal) {
      const name = cacheObjectName({ path, runnerShortToken: short, projectId: 7, key });
      const object = await downloadCacheObject(await adapter.getDownload({ name }), { signal });
      return object?.stream;
    },
    async put(key, body: ByteSource, signal) {
      const name = cacheObjectName({ path, runnerShortToken: short, projectId: 7, key });
      const dir = await mkdtemp(join(context.workDir, 's3-put-'));
      try {
        const file = join(dir, 'cache.zip');
        await pipeline(Readable.from(body), createWriteStream(file));
        await uploadCacheFile(await adapter.getUpload({ name, humanKey: key }), file, { signal });
        uploaded.push(name);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };

  it('archive_cache uploads to S3; a later job (whose container has no local cache) restores from it', async () => {
    const key = `rk-s3-${randomBytes(3).toString('hex')}`;
    const entry = { key, paths: ['out/'], policy: 'pull-push', when: 'on_success' };
    const first = await runObserved(
      context.executor(),
      job(producer, { cache: [entry] }),
      { ports: { cache: store } },
      context.runner,
    );
    expect(first.result.outcome).toEqual({ status: 'success' });
    expect(first.trace).toContain(`Creating cache ${key}...`);
    expect(first.trace).not.toContain('No URL provided');
    expect(uploaded).toEqual([`${path}/runner/${short}/project/7/${key}`]);

    const second = await runObserved(
      context.executor(),
      job(['cat out/sub/a.txt', 'test -e b.txt || echo no-b'], { cache: [entry] }),
      { ports: { cache: store } },
      context.runner,
    );
    expect(second.result.outcome).toEqual({ status: 'success' });
    expect(second.trace).toContain(`Checking cache for ${key}...`);
    expect(second.trace).toContain('Successfully extracted cache');
    expect(second.trace).toContain('\none\n');
    expect(second.trace).toContain('\nno-b\n');
    expect(await countLabelled(context.client, short)).toEqual({ containers: 0, volumes: 0, networks: 0 });
  });
});

describe('artifacts through the coordinator', () => {
  it('upload_artifacts sends the archive to GitLab; a dependent job downloads and extracts it', async () => {
    const coordinator = await createCoordinator();
    const api = createJobApiClient({ url: coordinator.url, runner: { version: '0.0.0', revision: 'test' } });
    try {
      const runnerToken = coordinator.createRunner().token;
      const systemId = 's_0123456789ab';
      await api.verify({ token: runnerToken, systemId });
      const {
        id: _id,
        token: _token,
        ...build
      } = job(producer, {
        job_info: { name: 'build', stage: 'build', project_id: 7, project_name: 'project' },
        artifacts: [
          {
            name: 'bundle',
            paths: ['out/'],
            exclude: ['out/**/*.log'],
            when: 'on_success',
            artifact_type: 'archive',
            artifact_format: 'zip',
            expire_in: '1 day',
          },
        ],
      });
      const { id: _id2, token: _token2, ...test } = job(['cat out/sub/a.txt']);
      coordinator.createJob(build as Record<string, unknown>);
      coordinator.createJob({ ...test, job_info: { ...test.job_info, name: 'test' } } as Record<string, unknown>);

      const receive = async (): Promise<JobPayload> => {
        const result = await api.requestJob({ token: runnerToken, systemId });
        if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
        return result.job;
      };
      const runner = { ...context.runner, url: coordinator.url };

      const buildJob = await receive();
      const buildSession = api.startJob(buildJob, { runnerToken });
      await buildSession.acknowledge();
      const built = await runObserved(
        context.executor(),
        buildJob as unknown as RuntimeJobPayload,
        { ports: { artifacts: createJobArtifactStore(api, { jobId: buildJob.id, jobToken: buildJob.token }) } },
        runner,
      );
      expect(built.result.outcome).toEqual({ status: 'success' });
      expect(built.trace).toContain('Uploading artifacts...');
      await buildSession.finish({ state: 'success' });
      const stored = coordinator.job(buildJob.id)!.artifacts;
      expect(stored).toMatchObject([{ filename: 'bundle.zip' }]);

      const testJob = await receive();
      const testSession = api.startJob(testJob, { runnerToken });
      await testSession.acknowledge();
      const dependent = {
        ...(testJob as unknown as RuntimeJobPayload),
        dependencies: [
          {
            id: buildJob.id,
            name: 'build',
            token: testJob.token,
            artifacts_file: { filename: 'bundle.zip', size: stored[0]!.size },
          },
        ],
      } as RuntimeJobPayload;
      const tested = await runObserved(
        context.executor(),
        dependent,
        { ports: { artifacts: createJobArtifactStore(api, { jobId: testJob.id, jobToken: testJob.token }) } },
        runner,
      );
      expect(tested.result.outcome).toEqual({ status: 'success' });
      expect(tested.trace).toContain(`Downloading artifacts for build (${buildJob.id})...`);
      expect(tested.trace).toContain('\none\n');
      await testSession.finish({ state: 'success' });
    } finally {
      await api.close();
      await coordinator.close();
    }
    expect(await countLabelled(context.client, short)).toEqual({ containers: 0, volumes: 0, networks: 0 });
  });
});
