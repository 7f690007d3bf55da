import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { describeCacheAdapter } from '../testing/conformance.js';
import { createGcsCache } from './gcs.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const otherPrivateKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const accessId = 'cache@test-project-123456.iam.gserviceaccount.com';

/**
 * Checks a GOOG4-RSA-SHA256 query-signed request with the public key, written from Google's V4 signing
 * description (independent of @google-cloud/storage, which signs). Real GCS listens on 443, so the signed
 * `host` is the Host header without its port.
 */
function verifyGoogV4(
  method: string,
  rawUrl: string,
  headers: IncomingMessage['headers'],
  now = new Date(),
): string | undefined {
  const url = new URL(rawUrl, 'http://placeholder');
  const query = url.searchParams;
  if (query.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256') return 'algorithm';
  const signature = query.get('X-Goog-Signature') ?? '';
  const credential = query.get('X-Goog-Credential') ?? '';
  const date = query.get('X-Goog-Date') ?? '';
  const expires = Number(query.get('X-Goog-Expires'));
  const signedHeaders = query.get('X-Goog-SignedHeaders') ?? '';
  const [email, scopeDate, location, service, terminator] = credential.split('/');
  if (
    email !== accessId ||
    !scopeDate ||
    location !== 'auto' ||
    service !== 'storage' ||
    terminator !== 'goog4_request'
  )
    return 'credential';
  const issued = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!Number.isInteger(expires) || expires > 604800 || now.getTime() > issued + expires * 1000) return 'expired';
  const rfc3986 = (value: string) =>
    encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = [...query.entries()]
    .filter(([name]) => name !== 'X-Goog-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => {
      const value = name === 'host' ? String(headers.host).replace(/:\d+$/, '') : String(headers[name] ?? '');
      return `${name}:${value.trim()}\n`;
    })
    .join('');
  const canonicalRequest = [
    method,
    url.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'GOOG4-RSA-SHA256',
    date,
    `${scopeDate}/auto/storage/goog4_request`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  return verify('RSA-SHA256', Buffer.from(stringToSign), publicKey, Buffer.from(signature, 'hex'))
    ? undefined
    : 'signature';
}

/** A tiny GCS stand-in on 127.0.0.1:0 that verifies every signed URL, enforces the length range, stores and serves. */
async function startVerifyingServer(): Promise<{ server: Server; endpoint: string; refusals: string[] }> {
  const objects = new Map<string, { body: Buffer; modified: Date }>();
  const refusals: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const problem = verifyGoogV4(req.method ?? '', req.url ?? '', req.headers);
    const path = decodeURIComponent(new URL(req.url ?? '', 'http://x').pathname);
    if (problem) {
      refusals.push(problem);
      res.writeHead(403).end(`<Error><Code>SignatureDoesNotMatch</Code><Message>${problem}</Message></Error>`);
      return;
    }
    if (req.method === 'PUT') {
      const range = req.headers['x-goog-content-length-range'];
      if (typeof range === 'string') {
        const [min, max] = range.split(',').map(Number);
        if (body.length < (min ?? 0) || body.length > (max ?? Number.POSITIVE_INFINITY)) {
          res.writeHead(400).end('<Error><Code>EntityTooLarge</Code></Error>');
          return;
        }
      }
      objects.set(path, { body, modified: new Date() });
      res.writeHead(200).end();
      return;
    }
    const object = objects.get(path);
    if (!object) {
      res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    res
      .writeHead(200, { 'content-length': object.body.length, 'last-modified': object.modified.toUTCString() })
      .end(object.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, refusals };
}

let verifier: Awaited<ReturnType<typeof startVerifyingServer>>;

describeCacheAdapter('gcs (local V4 verifier)', {
  async create() {
    verifier = await startVerifyingServer();
    return createGcsCache({ accessId, privateKey, bucketName: 'runners-cache', endpoint: verifier.endpoint });
  },
  async destroy() {
    await new Promise((resolve) => verifier.server.close(resolve));
  },
  additionalTests({ adapter, prefix }) {
    it('is refused when signed with another key or when the object name is changed', async () => {
      const forger = createGcsCache({
        accessId,
        privateKey: otherPrivateKey,
        bucketName: 'runners-cache',
        endpoint: verifier.endpoint,
      });
      const forged = await forger.getDownload({ name: `${prefix}/x` });
      if (forged.type !== 'url') throw new Error('url expected');
      const refused = await request(forged.get.url);
      expect(refused.statusCode).toBe(403);
      await refused.body.dump();
      const genuine = await adapter().getDownload({ name: `${prefix}/x` });
      if (genuine.type !== 'url') throw new Error('url expected');
      const changed = new URL(genuine.get.url);
      changed.pathname = changed.pathname.replace('/x', '/y');
      const changedResponse = await request(changed);
      expect(changedResponse.statusCode).toBe(403);
      await changedResponse.body.dump();
      expect(verifier.refusals.slice(-2)).toEqual(['signature', 'signature']);
      expect(
        verifyGoogV4(
          'GET',
          `${genuine.get.url.pathname}${genuine.get.url.search}`,
          { host: genuine.get.url.host },
          new Date(Date.now() + 2 * 3600_000),
        ),
      ).toBe('expired');
    });

    it('signs MaxUploadedArchiveSize into uploads as X-Goog-Content-Length-Range', async () => {
      const limited = createGcsCache({
        accessId,
        privateKey,
        bucketName: 'runners-cache',
        endpoint: verifier.endpoint,
        maxUploadedArchiveSize: 10,
      });
      const upload = await limited.getUpload({ name: `${prefix}/limited` });
      if (upload.type !== 'url') throw new Error('url expected');
      expect(upload.put.headers['x-goog-content-length-range']).toBe('0,10');
      expect(upload.put.url.searchParams.get('X-Goog-SignedHeaders')).toBe(
        'content-type;host;x-goog-content-length-range',
      );
      const tooBig = await request(upload.put.url, {
        method: 'PUT',
        headers: upload.put.headers,
        body: Buffer.alloc(11),
      });
      expect(tooBig.statusCode).toBe(400);
      await tooBig.body.dump();
      const dropped = { ...upload.put.headers, 'x-goog-content-length-range': '0,999999' };
      const forgedRange = await request(upload.put.url, { method: 'PUT', headers: dropped, body: Buffer.alloc(11) });
      expect(forgedRange.statusCode).toBe(403);
      await forgedRange.body.dump();
      const fits = await request(upload.put.url, {
        method: 'PUT',
        headers: upload.put.headers,
        body: Buffer.alloc(10),
      });
      expect(fits.statusCode).toBe(200);
      await fits.body.dump();
    });
  },
});

describe('GCS settings', () => {
  it('reads credentials from the CredentialsFile contents, which win over AccessID/PrivateKey', async () => {
    const json = JSON.stringify({
      type: 'service_account',
      client_email: 'file@p.iam.gserviceaccount.com',
      private_key: privateKey,
    });
    const adapter = createGcsCache({ credentialsJson: json, accessId, privateKey, bucketName: 'b' });
    const download = await adapter.getDownload({ name: 'k' });
    if (download.type !== 'url') throw new Error('url expected');
    expect(download.get.url.searchParams.get('X-Goog-Credential')).toMatch(/^file@p\.iam\.gserviceaccount\.com\//);
    expect(`${download.get.url.origin}${download.get.url.pathname}`).toBe('https://storage.googleapis.com/b/k');
    expect(() => createGcsCache({ credentialsJson: '{"type":"authorized_user"}', bucketName: 'b' })).toThrow(
      /service_account/,
    );
    expect(() => createGcsCache({ bucketName: 'b' })).toThrow(
      expect.objectContaining({ code: 'CACHE_CREDENTIALS_MISSING' }),
    );
  });
});
