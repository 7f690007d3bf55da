import { randomBytes } from 'node:crypto';
import { cacheObjectName } from '@runnerkit/cache-adapters';
import { describeWithComponent } from '@runnerkit/testkit';
import { describe, expect, it } from 'vitest';
import { createCacheAdapter, createJobCacheStore } from './cache-store.js';

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
    await expect(createCacheAdapter({ Type: 's3' }, {})).rejects.toThrow(
      '[runners.cache] Type "s3" has no matching [runners.cache.s3] section',
    );
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
