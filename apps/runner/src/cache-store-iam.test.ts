// S3 `AuthenticationType = "iam"` through the AWS SDK's default credential chain. The chain reads the process
// environment, so this file (its own vitest worker process) rewrites process.env around each test: no AWS keys,
// no shared files, instance metadata disabled, and container credentials served from 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cacheObjectName } from '@runnerkit/cache-adapters';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createCacheAdapter, createJobCacheStore, RunnerCacheError } from './cache-store.js';

const saved = { ...process.env };

function isolateAwsEnvironment(extra: Record<string, string>): void {
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
  Object.assign(process.env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/runnerkit-test/credentials',
    AWS_CONFIG_FILE: '/nonexistent/runnerkit-test/config',
    ...extra,
  });
}

async function text(source: AsyncIterable<Uint8Array> | undefined): Promise<string | undefined> {
  if (!source) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function* once(value: string) {
  yield Buffer.from(value);
}

describeWithComponent('s3', 'S3 iam credentials from the AWS default chain', (s3) => {
  let server: Server | undefined;
  const served: string[] = [];

  beforeEach(() => {
    served.length = 0;
  });
  afterEach(async () => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    if (server) await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  const config = (bucket = s3.bucket) => ({
    Type: 's3',
    Path: 'runnerkit-iam-test',
    s3: {
      ServerAddress: new URL(s3.endpoint).host,
      BucketName: bucket,
      Insecure: true,
      AuthenticationType: 'iam',
    },
  });

  it('signs with container credentials served on 127.0.0.1 and round-trips through s3rver', async () => {
    // s3rver knows one access key id (and does not check signatures): the served key must be that one.
    const keyId = s3.accessKey;
    const token = `token-${randomBytes(12).toString('hex')}`;
    server = createServer((request, response) => {
      served.push(`${request.method} ${request.url}`);
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          AccessKeyId: keyId,
          SecretAccessKey: s3.secretKey,
          Token: token,
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    isolateAwsEnvironment({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/creds` });

    const adapter = await createCacheAdapter(config(), process.env);
    if (!adapter) throw new Error('no adapter');
    const download = await adapter.getDownload({ name: 'runnerkit-iam-test/probe' });
    if (download.type !== 'url') throw new Error('expected a presigned URL');
    const query = download.get.url.searchParams;
    expect(query.get('X-Amz-Credential')?.startsWith(`${keyId}/`)).toBe(true);
    expect(query.get('X-Amz-Security-Token')).toBe(token);
    expect(served).toEqual(['GET /creds']);

    const store = createJobCacheStore(adapter, {
      projectId: 11,
      runnerShortToken: 'iamrunner',
      path: 'runnerkit-iam-test',
      objectName: cacheObjectName,
    });
    const key = `iam-${randomBytes(4).toString('hex')}`;
    await store.put(key, once('archive signed with container credentials'));
    expect(await text(await store.get(key))).toBe('archive signed with container credentials');
  });

  it('with no credentials anywhere, signing fails fast with a typed error naming [runners.cache.s3]', async () => {
    isolateAwsEnvironment({});
    const adapter = await createCacheAdapter(config(), process.env);
    if (!adapter) throw new Error('no adapter');
    const store = createJobCacheStore(adapter, {
      projectId: 11,
      runnerShortToken: 'iamrunner',
      objectName: cacheObjectName,
    });
    const started = Date.now();
    const error = await store.get('some-key').then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(RunnerCacheError);
    expect((error as RunnerCacheError).code).toBe('RUNNER_CACHE_CREDENTIALS_UNAVAILABLE');
    expect((error as RunnerCacheError).message).toMatch(
      /^\[runners\.cache\.s3\] AuthenticationType "iam": no AWS credentials found/,
    );
    expect((error as RunnerCacheError).cause).toBeDefined();
  });
});
