import { createHash, createHmac } from 'node:crypto';
import { describeWithComponent } from '@runnerkit/testkit';
import { describe, expect, it } from 'vitest';
import type { PresignedRequest } from '../adapter.js';
import { redactUrl } from '../redact.js';
import { describeCacheAdapter } from '../testing/conformance.js';
import { createS3Cache, resolveS3AuthenticationType, resolveS3Encryption } from './s3.js';

/**
 * An independent SigV4 query-signature verifier (s3rver does not check signatures). Written from AWS's
 * "Authenticating requests: using query parameters" description, not from the SDK.
 */
function verifySigV4(
  request: { method: string; url: URL; headers: Record<string, string> },
  secretKey: string,
  now: Date = new Date(),
): 'ok' | 'bad-signature' | 'expired' | 'malformed' {
  const query = request.url.searchParams;
  const signature = query.get('X-Amz-Signature');
  const credential = query.get('X-Amz-Credential');
  const amzDate = query.get('X-Amz-Date');
  const expires = Number(query.get('X-Amz-Expires'));
  const signedHeaders = query.get('X-Amz-SignedHeaders');
  if (!signature || !credential || !amzDate || !signedHeaders || !Number.isInteger(expires) || expires > 604800)
    return 'malformed';
  const [, date, region, service, terminator] = credential.split('/');
  if (terminator !== 'aws4_request' || !date || !region || !service) return 'malformed';
  const issued = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (now.getTime() > issued + expires * 1000) return 'expired';
  const rfc3986 = (value: string) =>
    encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = [...query.entries()]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers: Record<string, string> = { host: request.url.host };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  const names = signedHeaders.split(';');
  if (names.some((name) => headers[name] === undefined)) return 'bad-signature';
  const canonicalHeaders = names.map((name) => `${name}:${headers[name]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [
    request.method,
    request.url.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, date), region), service), 'aws4_request');
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex') === signature ? 'ok' : 'bad-signature';
}

describe('S3 settings', () => {
  it('selects access-key only when server address, access key and secret key are all set', () => {
    expect(resolveS3AuthenticationType({ bucketName: 'b', serverAddress: 'h', accessKey: 'a', secretKey: 's' })).toBe(
      'access-key',
    );
    expect(resolveS3AuthenticationType({ bucketName: 'b', accessKey: 'a', secretKey: 's' })).toBe('iam');
    expect(resolveS3AuthenticationType({ bucketName: 'b', authenticationType: 'ACCESS-KEY' })).toBe('access-key');
    expect(() => resolveS3AuthenticationType({ bucketName: 'b', authenticationType: 'token' })).toThrow(
      /AuthenticationType/,
    );
    expect(() => createS3Cache({ bucketName: 'b' })).toThrow(
      expect.objectContaining({ code: 'CACHE_CREDENTIALS_MISSING' }),
    );
    expect(() =>
      createS3Cache({ bucketName: 'b', serverAddress: 'http://h:1', accessKey: 'a', secretKey: 's' }),
    ).toThrow(/without a scheme/);
  });

  it('maps GitLab encryption spellings', () => {
    expect(
      ['s3', 'AES256', 'kms', 'aws:kms', 'DSSE-KMS', 'aws:kms:dsse', '', 'SSE-C'].map(resolveS3Encryption),
    ).toEqual(['AES256', 'AES256', 'aws:kms', 'aws:kms', 'aws:kms:dsse', 'aws:kms:dsse', undefined, 'unknown']);
  });

  it('uses virtual-host URLs on AWS and path-style elsewhere unless told otherwise', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const aws = createS3Cache({
      bucketName: 'runners-cache',
      bucketLocation: 'eu-west-1',
      iamCredentials: credentials,
      dualStack: false,
    });
    const awsUrl = (await aws.getDownload({ name: 'project/1/k' })) as { get: PresignedRequest };
    expect(redactUrl(awsUrl.get.url)).toBe('https://runners-cache.s3.eu-west-1.amazonaws.com/project/1/k');
    const custom = createS3Cache({
      bucketName: 'c',
      serverAddress: 'minio.local:9000',
      accessKey: 'a',
      secretKey: 's',
    });
    const customUrl = (await custom.getDownload({ name: 'k' })) as { get: PresignedRequest };
    expect(redactUrl(customUrl.get.url)).toBe('https://minio.local:9000/c/k');
    const forced = createS3Cache({
      bucketName: 'cache-bucket',
      serverAddress: 'minio.local:9000',
      accessKey: 'a',
      secretKey: 's',
      pathStyle: false,
      insecure: true,
    });
    const forcedUrl = (await forced.getDownload({ name: 'k' })) as { get: PresignedRequest };
    expect(redactUrl(forcedUrl.get.url)).toBe('http://cache-bucket.minio.local:9000/k');
  });

  it('signs encryption headers, session tokens and the cache key metadata into uploads; unknown encryption only warns', async () => {
    const warnings: string[] = [];
    const adapter = createS3Cache({
      bucketName: 'c',
      serverAddress: '127.0.0.1:1',
      insecure: true,
      accessKey: 'AK',
      secretKey: 'SK',
      sessionToken: 'session-token-value',
      serverSideEncryption: 'KMS',
      serverSideEncryptionKeyId: 'alias/my-key',
    });
    const upload = await adapter.getUpload({ name: 'project/1/k', humanKey: 'k' });
    if (upload.type !== 'url') throw new Error('url expected');
    expect(upload.put.headers).toEqual({
      'content-type': 'application/octet-stream',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/my-key',
    });
    expect(upload.put.url.searchParams.get('X-Amz-SignedHeaders')).toBe(
      'host;x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id',
    );
    expect(upload.put.url.searchParams.get('X-Amz-Security-Token')).toBe('session-token-value');
    expect(upload.put.url.searchParams.get('x-amz-meta-cachekey')).toBe('k');
    expect(upload.put.url.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect(verifySigV4(upload.put, 'SK')).toBe('ok');
    expect(verifySigV4({ ...upload.put, headers: { 'x-amz-server-side-encryption': 'AES256' } }, 'SK')).toBe(
      'bad-signature',
    );
    expect(redactUrl(upload.put.url)).not.toContain('session-token-value');

    createS3Cache({
      bucketName: 'c',
      iamCredentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      serverSideEncryption: 'SSE-C',
      onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toEqual(['unknown ServerSideEncryption "SSE-C": no encryption is used']);
  });
});

describeWithComponent('s3', 'S3 cache against s3rver', (s3) => {
  const serverAddress = new URL(s3.endpoint).host;
  const settings = {
    serverAddress,
    insecure: true,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucketName: s3.bucket,
  };

  describeCacheAdapter('s3 (s3rver)', {
    create: () => createS3Cache(settings),
    additionalTests({ adapter, prefix }) {
      it('produces URLs an independent SigV4 verifier accepts, and refuses a wrong secret, a changed key and expiry', async () => {
        const download = await adapter().getDownload({ name: `${prefix}/project/9/key`, expiresInSeconds: 60 });
        const upload = await adapter().getUpload({ name: `${prefix}/project/9/key`, expiresInSeconds: 60 });
        if (download.type !== 'url' || upload.type !== 'url' || !download.head) throw new Error('url expected');
        expect(verifySigV4(download.get, s3.secretKey)).toBe('ok');
        expect(verifySigV4(download.head, s3.secretKey)).toBe('ok');
        expect(verifySigV4(upload.put, s3.secretKey)).toBe('ok');
        expect(verifySigV4({ ...download.get, method: 'PUT' }, s3.secretKey)).toBe('bad-signature');
        expect(verifySigV4(download.get, 'not-the-secret')).toBe('bad-signature');
        const changed = new URL(download.get.url);
        changed.pathname = changed.pathname.replace('/key', '/other-key');
        expect(verifySigV4({ ...download.get, url: changed }, s3.secretKey)).toBe('bad-signature');
        expect(verifySigV4(download.get, s3.secretKey, new Date(Date.now() + 61_000))).toBe('expired');
        // A key signed with the wrong secret is refused by the verifier (s3rver itself would accept it).
        const wrong = createS3Cache({ ...settings, secretKey: 'wrong' });
        const forged = await wrong.getDownload({ name: `${prefix}/project/9/key` });
        if (forged.type !== 'url') throw new Error('url expected');
        expect(verifySigV4(forged.get, s3.secretKey)).toBe('bad-signature');
      });

      it('gets an expired URL refused by s3rver itself', async () => {
        const download = await adapter().getDownload({ name: `${prefix}/project/9/expiring`, expiresInSeconds: 1 });
        if (download.type !== 'url') throw new Error('url expected');
        await new Promise((resolve) => setTimeout(resolve, 2100));
        const { request } = await import('undici');
        const response = await request(download.get.url);
        expect(response.statusCode).toBe(403);
        expect(await response.body.text()).toContain('Request has expired');
      });
    },
  });
});
