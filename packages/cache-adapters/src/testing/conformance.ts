import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheAdapter, CacheDownload, CacheObjectStream, CacheUpload } from '../adapter.js';
import { redactUrl } from '../redact.js';
import { downloadCacheObject, uploadCacheFile } from '../transfer.js';

export interface CacheAdapterSuiteOptions {
  /** Creates the adapter against its real backend (called once, in beforeAll). */
  create: () => CacheAdapter | Promise<CacheAdapter>;
  /** Releases what `create` started. */
  destroy?: () => void | Promise<void>;
  /** A prefix that keeps this run's objects apart from others in a shared bucket. */
  prefix?: string;
  /** Extra tests that run inside the same describe block, with the adapter. */
  additionalTests?: (context: { adapter: () => CacheAdapter; prefix: string }) => void;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Uploads a buffer with nothing but undici (for URL targets) or the adapter's stream writer. */
async function putWithUndici(upload: CacheUpload, body: Buffer): Promise<void> {
  if (upload.type === 'stream') {
    await upload.write(Readable.from([body]));
    return;
  }
  const response = await request(upload.put.url, {
    method: 'PUT',
    headers: { ...upload.put.headers, 'content-length': String(body.length) },
    body,
  });
  const text = await response.body.text();
  if (response.statusCode < 200 || response.statusCode > 299) {
    throw new Error(`PUT ${redactUrl(upload.put.url)} answered ${response.statusCode}: ${text.slice(0, 300)}`);
  }
}

async function getWithUndici(download: CacheDownload): Promise<{ status: number; body: Buffer }> {
  if (download.type === 'stream') {
    const object = await download.open();
    return object === undefined
      ? { status: 404, body: Buffer.alloc(0) }
      : { status: 200, body: await readAll(object.stream) };
  }
  const response = await request(download.get.url, { method: 'GET', headers: download.get.headers });
  return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
}

/**
 * The one conformance suite every cache adapter passes, against its real backend: round trip through the
 * presigned URLs (or streams), missing objects, overwrite, awkward names, HEAD metadata, redaction.
 */
export function describeCacheAdapter(title: string, options: CacheAdapterSuiteOptions): void {
  describe(`cache adapter conformance: ${title}`, () => {
    let adapter: CacheAdapter | undefined;
    const prefix = options.prefix ?? `conformance-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const current = (): CacheAdapter => {
      if (adapter === undefined) throw new Error('adapter not created');
      return adapter;
    };
    let scratch = '';

    beforeAll(async () => {
      adapter = await options.create();
      scratch = await mkdtemp(join(tmpdir(), 'rk-cache-conformance-'));
    });
    afterAll(async () => {
      await options.destroy?.();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('round-trips an object through the upload and download targets', async () => {
      const name = `${prefix}/project/1/round-trip/cache.zip`;
      const body = randomBytes(300_000);
      await putWithUndici(await current().getUpload({ name, humanKey: 'round-trip' }), body);
      const got = await getWithUndici(await current().getDownload({ name }));
      expect(got.status).toBe(200);
      expect(got.body.equals(body)).toBe(true);
    });

    it('reports a missing object as absent, not as an error', async () => {
      const download = await current().getDownload({ name: `${prefix}/project/1/never-written` });
      expect(await downloadCacheObject(download)).toBeUndefined();
    });

    it('replaces an object on a second upload', async () => {
      const name = `${prefix}/project/1/overwrite`;
      await putWithUndici(await current().getUpload({ name }), Buffer.from('first version'));
      await putWithUndici(await current().getUpload({ name }), Buffer.from('second'));
      const got = await getWithUndici(await current().getDownload({ name }));
      expect(got.body.toString()).toBe('second');
    });

    it('keeps names with spaces, unicode and nested segments', async () => {
      const name = `${prefix}/project/1/feature branch/ключ+%/cache.zip`;
      await putWithUndici(await current().getUpload({ name }), Buffer.from('awkward'));
      const got = await getWithUndici(await current().getDownload({ name }));
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe('awkward');
    });

    it('uploads a file and reads it back with the transfer helpers, with size and modification time', async () => {
      const name = `${prefix}/project/2/helpers/cache.zip`;
      const file = join(scratch, 'archive.bin');
      const body = randomBytes(64 * 1024);
      await writeFile(file, body);
      const before = Date.now();
      await uploadCacheFile(await current().getUpload({ name }), file);
      const object = (await downloadCacheObject(await current().getDownload({ name }))) as CacheObjectStream;
      expect(object).toBeDefined();
      expect((await readAll(object.stream)).equals(body)).toBe(true);
      expect(object.size).toBe(body.length);
      expect(Math.abs(object.lastModified.getTime() - before)).toBeLessThan(10 * 60_000);
    });

    it('answers HEAD with the object size when it offers a HEAD request', async () => {
      const name = `${prefix}/project/3/head`;
      await putWithUndici(await current().getUpload({ name }), Buffer.from('0123456789'));
      const download = await current().getDownload({ name });
      if (download.type === 'stream') {
        expect((await download.stat())?.size).toBe(10);
        return;
      }
      if (download.head === undefined) return;
      const response = await request(download.head.url, { method: 'HEAD', headers: download.head.headers });
      await response.body.dump();
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-length']).toBe('10');
      expect(response.headers['last-modified']).toBeTruthy();
    });

    it('signs URLs for the requested lifetime and never logs their query', async () => {
      const download = await current().getDownload({ name: `${prefix}/project/4/x`, expiresInSeconds: 120 });
      if (download.type === 'stream') return;
      const lifetime = download.get.expiresAt.getTime() - Date.now();
      expect(lifetime).toBeGreaterThan(100_000);
      expect(lifetime).toBeLessThanOrEqual(120_000);
      expect(download.get.url.search).not.toBe('');
      const logged = redactUrl(download.get.url);
      expect(logged).not.toContain('?');
      expect(logged).not.toContain(download.get.url.search.slice(1, 20));
    });

    options.additionalTests?.({ adapter: current, prefix });
  });
}
