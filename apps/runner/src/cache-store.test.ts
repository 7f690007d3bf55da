import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type CacheAdapter, cacheObjectName } from '@runnerkit/cache-adapters';
import type { RunnerConfig } from '@runnerkit/config-schema';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheAdapter, createJobCacheStore, RunnerCacheError } from './cache-store.js';
import { createRunnerLog } from './runner-log.js';
import { cacheFor } from './wiring.js';

async function text(source: AsyncIterable<Uint8Array> | undefined): Promise<string | undefined> {
  if (!source) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function* once(value: string) {
  yield Buffer.from(value);
}

describe('[runners.cache] sections', () => {
  it('no Type: no distributed cache; a Type without its section is refused', async () => {
    expect(await createCacheAdapter(undefined, {})).toBeUndefined();
    expect(await createCacheAdapter({}, {})).toBeUndefined();
    const error = await createCacheAdapter({ Type: 's3' }, {}).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RunnerCacheError);
    expect((error as RunnerCacheError).code).toBe('RUNNER_CACHE_CONFIG_INVALID');
    expect((error as RunnerCacheError).message).toBe(
      '[runners.cache] Type "s3" has no matching [runners.cache.s3] section',
    );
  });
});

async function failure(promise: Promise<unknown>): Promise<RunnerCacheError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RunnerCacheError);
  return error as RunnerCacheError;
}

/** Every message and cause message of an error chain, and its stack. */
function everything(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) {
    parts.push(current.message, current.stack ?? '');
  }
  return parts.join('\n');
}

describe('[runners.cache.gcs] CredentialsFile and [runners.cache] MaxUploadedArchiveSize', () => {
  let dir = '';
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runnerkit-gcs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file and signs with its service account; the size limit is signed into uploads', async () => {
    const file = join(dir, 'service-account.json');
    await writeFile(
      file,
      JSON.stringify({
        type: 'service_account',
        client_email: 'cache@runnerkit.iam.gserviceaccount.com',
        private_key: key,
      }),
    );
    const adapter = await createCacheAdapter(
      { Type: 'gcs', MaxUploadedArchiveSize: 4096, gcs: { BucketName: 'runner-cache', CredentialsFile: file } },
      {},
    );
    const upload = await adapter!.getUpload({ name: 'runner/x/project/1/k', humanKey: 'k' });
    if (upload.type !== 'url') throw new Error('expected a signed URL');
    expect(upload.put.url.searchParams.get('X-Goog-Credential')).toMatch(
      /^cache@runnerkit\.iam\.gserviceaccount\.com\//,
    );
    expect(upload.put.headers['x-goog-content-length-range']).toBe('0,4096');
    expect(upload.put.url.searchParams.get('X-Goog-SignedHeaders')).toContain('x-goog-content-length-range');
    expect(upload.maxSize).toBe(4096);
  });

  it('an unreadable file is named by key and path', async () => {
    const file = join(dir, 'missing.json');
    const error = await failure(
      createCacheAdapter({ Type: 'gcs', gcs: { BucketName: 'b', CredentialsFile: file } }, {}),
    );
    expect(error.code).toBe('RUNNER_CACHE_CONFIG_INVALID');
    expect(error.message).toBe(`runners.cache.gcs.CredentialsFile "${file}": cannot be read (ENOENT)`);
  });

  it('an invalid file is named by key and path, never quoting its contents', async () => {
    const file = join(dir, 'broken.json');
    const secret = key.toString().split('\n')[1] ?? '';
    await writeFile(file, `private_key = ${secret}`);
    const error = await failure(
      createCacheAdapter({ Type: 'gcs', gcs: { BucketName: 'b', CredentialsFile: file } }, {}),
    );
    expect(error.message).toBe(`runners.cache.gcs.CredentialsFile "${file}": not a JSON service account key file`);
    expect(everything(error)).not.toContain(secret.slice(0, 12));

    const notServiceAccount = join(dir, 'user.json');
    await writeFile(notServiceAccount, JSON.stringify({ type: 'authorized_user', private_key: secret }));
    const refused = await createCacheAdapter(
      { Type: 'gcs', gcs: { BucketName: 'b', CredentialsFile: notServiceAccount } },
      {},
    ).catch((caught: unknown) => caught);
    expect((refused as { code?: string }).code).toBe('CACHE_CONFIG_INVALID');
    expect(everything(refused)).not.toContain(secret.slice(0, 12));
  });

  it('Azure gets AccountName, AccountKey, ContainerName, StorageDomain and the size limit', async () => {
    const adapter = await createCacheAdapter(
      {
        Type: 'azure',
        MaxUploadedArchiveSize: 99,
        azure: {
          AccountName: 'runnerkit',
          AccountKey: Buffer.from('not a real key').toString('base64'),
          ContainerName: 'runner-cache',
          StorageDomain: 'blob.example.test',
        },
      },
      {},
    );
    const upload = await adapter!.getUpload({ name: 'project/1/k', humanKey: 'k' });
    if (upload.type !== 'url') throw new Error('expected a SAS URL');
    expect(`${upload.put.url.origin}${upload.put.url.pathname}`).toBe(
      'https://runnerkit.blob.example.test/runner-cache/project/1/k',
    );
    expect(upload.maxSize).toBe(99);
  });
});

describeWithComponent('s3', 'the job cache store against s3rver', (s3) => {
  it('puts and gets archives under runner/<short>/project/<id>/<key>; a missing key is undefined', async () => {
    const adapter = await createCacheAdapter(
      {
        Type: 's3',
        Path: `runnerkit-test-${randomBytes(4).toString('hex')}`,
        s3: {
          ServerAddress: new URL(s3.endpoint).host,
          AccessKey: s3.accessKey,
          SecretKey: s3.secretKey,
          BucketName: s3.bucket,
          Insecure: true,
        },
      },
      {},
    );
    const names: string[] = [];
    const store = createJobCacheStore(adapter!, {
      projectId: 7,
      runnerShortToken: 'abcdefghi',
      path: 'runnerkit-test',
      objectName: (input) => {
        const name = cacheObjectName(input);
        names.push(name);
        return name;
      },
    });
    const key = `key-${randomBytes(4).toString('hex')}`;
    expect(await store.get(key)).toBeUndefined();
    await store.put(key, once('cache archive bytes'));
    expect(await text(await store.get(key))).toBe('cache archive bytes');
    expect(names[0]).toBe(`runnerkit-test/runner/abcdefghi/project/7/${key}`);
  });
});

describeWithComponent('s3', 'the job cache store: limits, names, expiry and secrets', (s3) => {
  const s3Config = (extra: Record<string, unknown> = {}) => ({
    Type: 's3',
    ...extra,
    s3: {
      ServerAddress: new URL(s3.endpoint).host,
      AccessKey: s3.accessKey,
      SecretKey: s3.secretKey,
      BucketName: s3.bucket,
      Insecure: true,
    },
  });

  it('an archive above MaxUploadedArchiveSize is not uploaded (GitLab message, typed code)', async () => {
    const adapter = await createCacheAdapter(s3Config({ MaxUploadedArchiveSize: 10 }), {});
    const store = createJobCacheStore(adapter!, {
      projectId: 8,
      runnerShortToken: 'limitrun',
      path: 'runnerkit-test',
      objectName: cacheObjectName,
    });
    const key = `big-${randomBytes(4).toString('hex')}`;
    const error = await failure(store.put(key, once('twenty bytes of data')));
    expect(error.code).toBe('RUNNER_CACHE_ARCHIVE_TOO_BIG');
    expect(error.message).toBe(
      'Cache archive size (20) is too big (Limit is set to 10). Cache will be stored only locally.',
    );
    expect(await store.get(key)).toBeUndefined();
    await store.put(key, once('ten bytes!'));
    expect(await text(await store.get(key))).toBe('ten bytes!');
  });

  it('Path, Shared and the URL expiry reach the adapter', async () => {
    const adapter = await createCacheAdapter(s3Config(), {});
    const requests: { name: string; expiresInSeconds?: number | undefined; url: URL }[] = [];
    const recording: CacheAdapter = {
      kind: adapter!.kind,
      async getDownload(object) {
        const download = await adapter!.getDownload(object);
        if (download.type === 'url') requests.push({ ...object, url: download.get.url });
        return download;
      },
      async getUpload(object) {
        const upload = await adapter!.getUpload(object);
        if (upload.type === 'url')
          requests.push({ name: object.name, expiresInSeconds: object.expiresInSeconds, url: upload.put.url });
        return upload;
      },
    };
    const store = createJobCacheStore(recording, {
      projectId: 9,
      runnerShortToken: 'ignored1',
      path: 'shared-path',
      shared: true,
      expiresInSeconds: 1234,
      objectName: cacheObjectName,
    });
    const key = `shared-${randomBytes(4).toString('hex')}`;
    await store.put(key, once('shared archive'));
    expect(await text(await store.get(key))).toBe('shared archive');
    expect(requests.map((request) => request.name)).toEqual([
      `shared-path/project/9/${key}`,
      `shared-path/project/9/${key}`,
    ]);
    expect(requests.map((request) => request.url.searchParams.get('X-Amz-Expires'))).toEqual(['1234', '1234']);
  });

  it('transfer failures and a broken cache section never put URL queries or keys in the runner log', async () => {
    // A stand-in S3 endpoint on 127.0.0.1 that refuses everything.
    const server = createServer((request, response) => {
      request.resume();
      response.statusCode = 403;
      response.end('<Error><Code>AccessDenied</Code></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const output: string[] = [];
    const log = createRunnerLog({
      stream: new Writable({
        write(chunk, _encoding, done) {
          output.push(String(chunk));
          done();
        },
      }),
      config: { log_level: 'debug', log_format: 'json' },
    });
    try {
      const secretKey = `secret-${randomBytes(8).toString('hex')}`;
      const refused = {
        Type: 's3',
        s3: {
          ServerAddress: `127.0.0.1:${(server.address() as AddressInfo).port}`,
          AccessKey: 'AKIARUNNERKITTEST',
          SecretKey: secretKey,
          SessionToken: 'session-token-value',
          BucketName: 'bucket',
          Insecure: true,
        },
      };
      const adapter = await createCacheAdapter(refused, {});
      const store = createJobCacheStore(adapter!, {
        projectId: 1,
        runnerShortToken: 'r1',
        objectName: cacheObjectName,
      });
      const errors = [await failure(store.put('k', once('data'))), await failure(store.get('k'))];
      expect(errors.map((error) => [error.code, error.status])).toEqual([
        ['RUNNER_CACHE_TRANSFER_FAILED', 403],
        ['RUNNER_CACHE_TRANSFER_FAILED', 403],
      ]);
      for (const error of errors) log.log('warn', 'cache transfer failed', { error: error.message });
      // What `run` logs for a cache section it cannot use.
      const runner = {
        token: 'glrt-runnerkit-secret-token',
        cache: { Type: 's3', s3: { ...refused.s3, ServerAddress: 'http://not-host-port' } },
      } as unknown as RunnerConfig;
      expect(
        await cacheFor(runner, { log, systemId: 's_test', env: {}, cwd: '/', stateDir: '/nonexistent' }),
      ).toBeUndefined();
      const logged = output.join('');
      expect(logged).toContain('cache upload failed: [PUT] http://127.0.0.1:');
      expect(logged).toContain('the distributed cache is not usable');
      for (const secret of [secretKey, 'session-token-value', 'AKIARUNNERKITTEST', 'X-Amz-', '?'])
        expect(logged).not.toContain(secret);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
