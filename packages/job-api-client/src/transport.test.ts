import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import { JobApiError } from './errors.js';
import { maskToken, redact } from './mask.js';
import { FIXTURE_RUNNER, instantClock, startServer, type TestServer } from './testing/http-server.js';
import { apiRoot, backoffDelay, isRetryableStatus, retryDelayMs, type JobApiEvent } from './transport.js';

let server: TestServer;
let client: JobApiClient;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

describe('transport retry (spec §2.3)', () => {
  it('retries exactly 408, 429, 500, 502, 503, 504 and ≥ 512', () => {
    const retried = [400, 403, 404, 408, 429, 500, 501, 502, 503, 504, 505, 511, 512, 599].filter(isRetryableStatus);
    expect(retried).toEqual([408, 429, 500, 502, 503, 504, 512, 599]);
  });

  it('505 is handed over without retry; 512 is retried', async () => {
    server = await startServer(() => ({ status: 505 }));
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock: instantClock() });
    await client.requestJob({ token: 'glrt-x' });
    expect(server.requests).toHaveLength(1);
    server.handle(() => ({ status: 512 }));
    await client.requestJob({ token: 'glrt-x' });
    expect(server.requests).toHaveLength(6);
  });

  it('waits until RateLimit-ResetTime, preferred over Retry-After', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const headers = { 'ratelimit-resettime': 'Thu, 01 Jan 2026 00:00:07 GMT', 'retry-after': '60' };
    expect(retryDelayMs(headers, 1, now, { baseDelayMs: 100, maxDelayMs: 60_000 })).toBe(7000);
    // A reset time in the past falls back to Retry-After; a non-positive Retry-After to backoff.
    expect(
      retryDelayMs({ ...headers, 'ratelimit-resettime': 'Wed, 31 Dec 2025 23:59:00 GMT' }, 1, now, {
        baseDelayMs: 100,
        maxDelayMs: 60_000,
      }),
    ).toBe(60_000);
    expect(retryDelayMs({ 'retry-after': '0' }, 1, now, { baseDelayMs: 100, maxDelayMs: 60_000 })).toBe(100);
  });

  it('backoff doubles from 100 ms with jitter, capped at 60 s', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 100, 60_000, () => 1))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3].map((a) => backoffDelay(a, 100, 60_000, () => 0))).toEqual([100, 100, 100]);
    expect(backoffDelay(30, 100, 60_000, () => 1)).toBe(60_000);
  });

  it('the caller’s abort stops the wait between attempts at once', async () => {
    server = await startServer(() => ({ status: 429, headers: { 'Retry-After': '3600' } }));
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    await expect(client.requestJob({ token: 'glrt-x', signal: controller.signal })).rejects.toMatchObject({
      code: 'JOB_API_ABORTED',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('URLs', () => {
  it('derives the API root as spec §0.1', () => {
    expect(apiRoot('https://gitlab.example.com/').href).toBe('https://gitlab.example.com/api/v4/');
    expect(apiRoot('https://example.com/gitlab//').href).toBe('https://example.com/gitlab/api/v4/');
    expect(apiRoot('https://gitlab.example.com/ci').href).toBe('https://gitlab.example.com/api/v4/');
    expect(() => apiRoot('ftp://x')).toThrow(expect.objectContaining({ code: 'JOB_API_CLIENT_ERROR' }));
  });

  it('works behind a path prefix', async () => {
    server = await startServer(() => ({ status: 204 }));
    client = createJobApiClient({ url: `${server.url}gitlab/`, runner: FIXTURE_RUNNER });
    await client.requestJob({ token: 'glrt-x' });
    expect(server.requests[0]!.path).toBe('/gitlab/api/v4/jobs/request');
  });
});

describe('tokens never appear in errors or events', () => {
  it('masks tokens by prefix', () => {
    expect(maskToken('glrt-FAKE-created-runner-token-01')).toBe('glrt-[MASKED]');
    expect(maskToken('opaque-secret')).toBe('[MASKED]');
    expect(redact('token glcbt-64_FAKE-x and https://gitlab-ci-token:secret@host/x?private_token=abc&a=1')).toBe(
      'token glcbt-[MASKED] and https://[MASKED]@host/x?private_token=[MASKED]&a=1',
    );
    expect(redact('echo opaque-secret-value', ['opaque-secret-value'])).toBe('echo [MASKED]');
  });

  it('server messages echoing a token are masked', async () => {
    const token = 'my-opaque-registration-secret';
    server = await startServer(() => ({
      status: 403,
      headers: { 'content-type': 'application/json' },
      body: { message: `403 Forbidden - token ${token} and glrt-abcdef123 rejected` },
    }));
    const events: JobApiEvent[] = [];
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, onEvent: (e) => events.push(e) });
    const error = await client.register({ token }).catch((e: unknown) => e as JobApiError);
    expect(JobApiError.isInstance(error)).toBe(true);
    const shown = JSON.stringify({
      message: (error as JobApiError).message,
      server: (error as JobApiError).serverMessage,
      events,
    });
    expect(shown).not.toContain(token);
    expect(shown).not.toContain('abcdef123');
    expect((error as JobApiError).message).toMatchInlineSnapshot(
      `"[POST] /api/v4/runners: 403 Forbidden (check registration token: 403 Forbidden - token [MASKED] and glrt-[MASKED] rejected)"`,
    );
  });
});

describe('TLS and connections', () => {
  let certs: string;
  beforeAll(() => {
    certs = mkdtempSync(join(tmpdir(), 'rk-tls-'));
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
    run(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=runnerkit test CA',
    );
    writeFileSync(join(certs, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
    run(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    );
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=runner');
    run(
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'client.crt',
      '-days',
      '2',
    );
  });
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  async function httpsServer() {
    const seen: string[] = [];
    const https = createHttpsServer(
      {
        key: readFileSync(join(certs, 'server.key')),
        cert: readFileSync(join(certs, 'server.crt')),
        ca: readFileSync(join(certs, 'ca.crt')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        seen.push(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN ?? ''));
        res.writeHead(204).end();
      },
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const port = (https.address() as AddressInfo).port;
    return {
      url: `https://127.0.0.1:${port}/`,
      seen,
      close: () =>
        new Promise<void>((resolve) => {
          https.closeAllConnections();
          https.close(() => resolve());
        }),
    };
  }

  it('uses tls-ca-file, tls-cert-file and tls-key-file given as paths (mutual TLS)', async () => {
    const https = await httpsServer();
    try {
      client = createJobApiClient({
        url: https.url,
        runner: FIXTURE_RUNNER,
        tls: { caFile: join(certs, 'ca.crt'), certFile: join(certs, 'client.crt'), keyFile: join(certs, 'client.key') },
      });
      await expect(client.requestJob({ token: 'glrt-x' })).resolves.toMatchObject({ kind: 'no-job' });
      expect(https.seen).toEqual(['runner']);
      await client.close();
      // Contents work too; without the CA the handshake fails: "no answer", still healthy.
      client = createJobApiClient({
        url: https.url,
        runner: FIXTURE_RUNNER,
        tls: { cert: readFileSync(join(certs, 'client.crt')), key: readFileSync(join(certs, 'client.key')) },
      });
      await expect(client.requestJob({ token: 'glrt-x' })).resolves.toMatchObject({
        kind: 'failed',
        reason: 'no-answer',
      });
    } finally {
      await https.close();
    }
  });

  it('an unreadable certificate file is a client error (unhealthy) on every call', async () => {
    client = createJobApiClient({
      url: 'https://127.0.0.1:1/',
      runner: FIXTURE_RUNNER,
      tls: { caFile: join(certs, 'missing.crt') },
    });
    await expect(client.requestJob({ token: 'glrt-x' })).resolves.toMatchObject({
      kind: 'failed',
      reason: 'client-error',
      healthy: false,
    });
    await expect(client.verify({ token: 'glrt-x' })).rejects.toMatchObject({ code: 'JOB_API_CLIENT_ERROR' });
  });

  it('connection_max_age: connections older than the limit are not reused', async () => {
    server = await startServer(() => ({ status: 204 }));
    let now = 0;
    const clock = { now: () => now, sleep: async () => {} };
    client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock, connectionMaxAgeMs: 1000 });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    await client.requestJob({ token: 'glrt-x' });
    await settle();
    now = 500;
    await client.requestJob({ token: 'glrt-x' });
    await settle();
    now = 1500;
    await client.requestJob({ token: 'glrt-x' });
    const ports = server.requests.map((r) => r.remotePort);
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[1]);
  });
});
