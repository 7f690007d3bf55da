import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactFilename, detectArtifactFormat } from './artifacts.js';
import { createJobApiClient, type JobApiClient } from './client.js';
import { JobApiError } from './errors.js';
import {
  compareRequest,
  exchange,
  FIXTURE_RUNNER,
  fixture,
  instantClock,
  type RecordedRequest,
  replyOf,
  startServer,
  type TestServer,
} from './testing/http-server.js';

const upload = fixture('artifacts-upload.json');
const download = fixture('artifacts-download.json');
const TOKEN = 'glcbt-64_FAKE-job-token-0001001';

let server: TestServer;
let other: TestServer | undefined;
let client: JobApiClient;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rk-artifacts-'));
  server = await startServer();
  client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock: instantClock() });
});

afterEach(async () => {
  await client.close();
  await server.close();
  await other?.close();
  other = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Splits a multipart body into its parts (enough for one-part bodies with binary content). */
function parseMultipart(request: RecordedRequest) {
  const boundary = /boundary=([^;]+)/.exec(request.headers['content-type'] ?? '')![1]!;
  const body = request.body;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: string; content: Buffer }[] = [];
  let position = body.indexOf(delimiter);
  while (position !== -1) {
    const start = position + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    const next = body.indexOf(delimiter, headerEnd);
    parts.push({
      headers: body.subarray(start + 2, headerEnd).toString(),
      content: body.subarray(headerEnd + 4, next - 2),
    });
    position = next;
  }
  return parts;
}

async function rejection(promise: Promise<unknown>): Promise<JobApiError> {
  try {
    await promise;
  } catch (error) {
    if (JobApiError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('artifact upload', () => {
  it('streams a file as one multipart part with chunked encoding; query as in the fixture', async () => {
    const ex = exchange(upload, 'archive upload');
    server.handle(() => replyOf(ex));
    const content = Buffer.alloc(300_000, 7);
    content.write('PK\u0003\u0004');
    const path = join(dir, 'archive.zip');
    await writeFile(path, content);
    const result = await client.uploadArtifact({
      jobId: 1001,
      jobToken: TOKEN,
      source: { path },
      name: 'test-output-1001',
      format: 'zip',
      type: 'archive',
      expireIn: '1 week',
    });
    expect(result).toEqual({ tries: 1, filename: 'test-output-1001.zip' });
    const request = server.requests[0]!;
    const { expected, actual } = compareRequest(upload, ex, request);
    expect(actual).toEqual(expected);
    expect(request.headers['transfer-encoding']).toBe('chunked');
    expect(request.headers['content-length']).toBeUndefined();
    const parts = parseMultipart(request);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.headers).toMatchInlineSnapshot(`
      "Content-Disposition: form-data; name="file"; filename="test-output-1001.zip"
      Content-Type: application/octet-stream"
    `);
    expect(parts[0]!.content.equals(content)).toBe(true);
  });

  it('uploads a gzip report from a stream factory', async () => {
    const ex = exchange(upload, 'junit report upload');
    server.handle(() => replyOf(ex));
    await client.uploadArtifact({
      jobId: 1001,
      jobToken: TOKEN,
      source: { stream: () => Readable.from([Buffer.from([0x1f, 0x8b, 1, 2, 3])]) },
      name: 'junit.xml',
      format: 'gzip',
      type: 'junit',
      expireIn: '1 week',
    });
    const { expected, actual } = compareRequest(upload, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(parseMultipart(server.requests[0]!)[0]!.headers).toContain('filename="junit.xml.gz"');
  });

  it('413 → JOB_API_ARTIFACT_TOO_LARGE without retry', async () => {
    server.handle(() => replyOf(exchange(upload, 'too large')));
    const error = await rejection(
      client.uploadArtifact({
        jobId: 1001,
        jobToken: TOKEN,
        source: { stream: () => Readable.from(['x']) },
        format: 'zip',
        type: 'archive',
      }),
    );
    expect(error.code).toBe('JOB_API_ARTIFACT_TOO_LARGE');
    expect(error.message).toMatchInlineSnapshot(
      `"[POST] /api/v4/jobs/1001/artifacts: 413 Payload Too Large (too large: file size has reached maximum size limit)"`,
    );
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.query).toEqual({ artifact_format: 'zip', artifact_type: 'archive' });
  });

  it('403 → forbidden without retry', async () => {
    server.handle(() => replyOf(exchange(upload, 'job no longer running')));
    const error = await rejection(
      client.uploadArtifact({ jobId: 1001, jobToken: TOKEN, source: { stream: () => Readable.from(['x']) } }),
    );
    expect(error.code).toBe('JOB_API_ARTIFACT_FORBIDDEN');
    expect(server.requests).toHaveLength(1);
  });

  it('400 is retried up to 3 tries; the body is regenerated each time', async () => {
    server.handle(() => replyOf(exchange(upload, 'same type uploaded twice with different content')));
    let opened = 0;
    const error = await rejection(
      client.uploadArtifact({
        jobId: 1001,
        jobToken: TOKEN,
        source: {
          stream: () => {
            opened++;
            return Readable.from(['abc']);
          },
        },
      }),
    );
    expect(error.code).toBe('JOB_API_ARTIFACT_UPLOAD_FAILED');
    expect(server.requests).toHaveLength(3);
    expect(opened).toBe(3);
    for (const request of server.requests) expect(parseMultipart(request)[0]!.content.toString()).toBe('abc');
  });

  it('503 is tried 6 times by the uploader (each after the transport retries), then succeeds', async () => {
    let calls = 0;
    server.handle(() =>
      ++calls <= 7 ? replyOf(exchange(upload, 'object storage temporarily failing')) : { status: 201, body: '201' },
    );
    const result = await client.uploadArtifact({
      jobId: 1001,
      jobToken: TOKEN,
      source: { stream: () => Readable.from(['z']) },
    });
    // 5 transport attempts (all 503), then the uploader's 2nd try: 2 more 503s and a 201.
    expect(result.tries).toBe(2);
    expect(server.requests).toHaveLength(8);
  });

  it('307 moves the upload to the Location host (scheme and host only)', async () => {
    other = await startServer(() => ({ status: 201, body: '201' }));
    server.handle(() => ({ status: 307, headers: { Location: `${other!.origin}/somewhere/else?x=1` } }));
    const result = await client.uploadArtifact({
      jobId: 1001,
      jobToken: TOKEN,
      source: { stream: () => Readable.from(['PK']) },
      format: 'zip',
      type: 'archive',
    });
    expect(result.tries).toBe(2);
    expect(other.requests[0]!.path).toBe('/api/v4/jobs/1001/artifacts');
    expect(other.requests[0]!.query).toEqual({ artifact_format: 'zip', artifact_type: 'archive' });
    expect(parseMultipart(other.requests[0]!)[0]!.content.toString()).toBe('PK');
  });

  it('names files as GitLab Runner does', () => {
    expect(artifactFilename(undefined, 'zip')).toBe('artifacts.zip');
    expect(artifactFilename('build/out/my-archive', 'gzip')).toBe('my-archive.gz');
    expect(artifactFilename('report.json', 'raw')).toBe('report.json');
    expect(artifactFilename('x', 'tarzstd')).toBe('x.tar.zst');
    expect(artifactFilename('..', '')).toBe('default.zip');
  });
});

describe('dependency artifact download', () => {
  it('asks for direct download with JOB-TOKEN and streams to the file', async () => {
    const ex = exchange(download, 'served directly (first try asks for direct download; server has no object storage)');
    const zip = Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(100_000, 1)]);
    server.handle(() => ({ ...replyOf(ex)!, body: zip }));
    const destination = join(dir, 'artifacts.zip');
    const result = await client.downloadArtifact({ jobId: 1000, jobToken: TOKEN, destination });
    const { expected, actual } = compareRequest(download, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(result).toEqual({ path: destination, bytes: zip.length, format: 'zip', filename: 'artifacts.zip' });
    expect((await readFile(destination)).equals(zip)).toBe(true);
  });

  it('follows a redirect to another host without sending JOB-TOKEN there', async () => {
    other = await startServer(() => ({
      status: 200,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([0x1f, 0x8b, 8, 0]),
    }));
    const location = `http://localhost:${new URL(other.origin).port}/artifacts/1000/artifacts.zip?X-Amz-Signature=FAKE`;
    server.handle(() => ({ status: 302, headers: { Location: location } }));
    const destination = join(dir, 'dep.bin');
    const result = await client.downloadArtifact({ jobId: 1000, jobToken: TOKEN, destination });
    expect(result.format).toBe('gzip');
    expect(server.requests[0]!.headers['job-token']).toBe(TOKEN);
    expect(other.requests[0]!.headers['job-token']).toBeUndefined();
    expect(other.requests[0]!.query).toEqual({ 'X-Amz-Signature': 'FAKE' });
  });

  it('retries without direct_download after a failed first try', async () => {
    let calls = 0;
    server.handle(() =>
      ++calls === 1
        ? { status: 500 }
        : replyOf(exchange(download, 'retry after a failed first try: no direct_download parameter')),
    );
    await client.close();
    client = createJobApiClient({
      url: server.url,
      runner: FIXTURE_RUNNER,
      clock: instantClock(),
      retry: { maxAttempts: 1 },
    });
    await client.downloadArtifact({ jobId: 1000, jobToken: TOKEN, destination: join(dir, 'a.zip') });
    expect(server.requests.map((r) => r.rawQuery)).toEqual(['direct_download=true', '']);
  });

  it.each([
    ['no artifacts', 'JOB_API_ARTIFACT_NOT_FOUND'],
    ['token may not read that job', 'JOB_API_ARTIFACT_FORBIDDEN'],
    ['invalid token', 'JOB_API_ARTIFACT_UNAUTHORIZED'],
  ])('%s → %s without retry, no file left behind', async (name, code) => {
    server.handle(() => replyOf(exchange(download, name)));
    const destination = join(dir, 'x.zip');
    const error = await rejection(
      client.downloadArtifact({ jobId: 1000, jobToken: 'not-a-token-at-all', destination }),
    );
    expect(error.code).toBe(code);
    expect(error.message).not.toContain('not-a-token-at-all');
    expect(server.requests).toHaveLength(1);
    await expect(readFile(destination)).rejects.toThrow();
  });

  it('detects formats by magic bytes', () => {
    expect(detectArtifactFormat(Buffer.from([0x1f, 0x8b]))).toBe('gzip');
    expect(detectArtifactFormat(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(detectArtifactFormat(Buffer.from('PK'))).toBe('zip');
  });
});
