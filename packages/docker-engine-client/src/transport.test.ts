// The client against a misbehaving fake daemon on a unix socket: every bad answer must become a typed error or a
// timeout — never a crash, never a hang.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DockerClient } from './client.js';
import { DockerError } from './errors.js';
import { encodeFrame } from './stream/demux.js';

let dir: string;
let socketPath: string;
let server: Server | undefined;
let sockets: Socket[] = [];
let clients: DockerClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rk-dec-fake-'));
  socketPath = join(dir, 'docker.sock');
  sockets = [];
  clients = [];
});

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function client(options: { timeout?: number; apiVersion?: string | null } = {}): DockerClient {
  const c = new DockerClient({
    host: `unix://${socketPath}`,
    timeout: options.timeout ?? 2_000,
    ...(options.apiVersion === null ? {} : { apiVersion: options.apiVersion ?? '1.41' }),
  });
  clients.push(c);
  return c;
}

/** A raw server: `onData` sees each connection's first request bytes and writes whatever it likes. */
async function rawServer(onRequest: (socket: Socket, request: string) => void): Promise<void> {
  server = createNetServer((socket) => {
    sockets.push(socket);
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString();
      if (seen.includes('\r\n\r\n')) {
        const request = seen;
        seen = '';
        onRequest(socket, request);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server?.listen(socketPath, resolve));
}

async function httpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ connections: () => number }> {
  let connections = 0;
  const s = createHttpServer(handler);
  s.on('connection', (socket) => {
    connections++;
    sockets.push(socket);
  });
  s.on('upgrade', (req, socket) => {
    // Unused by default: hijack tests use rawServer.
    socket.destroy();
    void req;
  });
  server = s;
  await new Promise<void>((resolve) => s.listen(socketPath, resolve));
  return { connections: () => connections };
}

async function failure(promise: Promise<unknown>): Promise<DockerError> {
  try {
    await promise;
  } catch (error) {
    if (DockerError.isInstance(error)) return error;
    throw new Error(`expected a DockerError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the call to fail');
}

describe('a misbehaving daemon', () => {
  test('garbage instead of HTTP → protocol error', async () => {
    await rawServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2 not http at all\r\n\r\n'));
    const error = await failure(client().system.version());
    expect(error.code).toBe('DOCKER_PROTOCOL_ERROR');
    expect(error.method).toBe('GET');
    expect(error.endpoint).toBe('/v1.41/version');
  });

  test('an answer cut short (Content-Length not reached) → protocol error', async () => {
    await rawServer((socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Version":"20'),
    );
    const error = await failure(client().system.version());
    expect(error.code).toBe('DOCKER_PROTOCOL_ERROR');
  });

  test('a body that is not JSON → protocol error naming the endpoint', async () => {
    await httpServer((_req, res) => res.end('<html>proxy error</html>'));
    const error = await failure(client().containers.inspect('abc'));
    expect({ code: error.code, message: error.message }).toMatchInlineSnapshot(`
      {
        "code": "DOCKER_PROTOCOL_ERROR",
        "message": "[GET] /v1.41/containers/abc/json: answer is not JSON: <html>proxy error</html>",
      }
    `);
  });

  test('no answer at all → timeout, with the call named', async () => {
    await rawServer(() => {});
    const started = Date.now();
    const error = await failure(client({ timeout: 300 }).system.info());
    expect(error.code).toBe('DOCKER_TIMEOUT');
    expect(error.message).toBe('[GET] /v1.41/info: no complete answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('headers then a body that never ends → timeout', async () => {
    await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const timer = setInterval(() => socket.write('1\r\n \r\n'), 10);
      socket.on('close', () => clearInterval(timer));
    });
    const error = await failure(client({ timeout: 300 }).system.info());
    expect(error.code).toBe('DOCKER_TIMEOUT');
  });

  test('the connection closes without an answer → daemon unavailable', async () => {
    await rawServer((socket) => socket.destroy());
    const error = await failure(client().system.info());
    expect(error.code).toBe('DOCKER_DAEMON_UNAVAILABLE');
  });

  test('no socket → daemon unavailable', async () => {
    const error = await failure(client().system.ping());
    expect(error.code).toBe('DOCKER_DAEMON_UNAVAILABLE');
    expect(error.message).toContain('ENOENT');
  });

  test('the caller aborts → aborted, promptly', async () => {
    await rawServer(() => {});
    const controller = new AbortController();
    const call = client({ timeout: 0 }).containers.wait('abc', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await failure(call);
    expect(error.code).toBe('DOCKER_ABORTED');
  });

  test('an already aborted signal fails before sending', async () => {
    let requests = 0;
    await httpServer((_req, res) => {
      requests++;
      res.end('{}');
    });
    const error = await failure(client().system.info({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('DOCKER_ABORTED');
    expect(requests).toBe(0);
  });

  test('daemon messages and statuses map to typed errors', async () => {
    await httpServer((req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 500);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `daemon says ${status}` }));
    });
    const c = client();
    const codes: Record<number, string> = {};
    for (const status of [400, 401, 403, 404, 409, 418, 500, 503]) {
      const error = await failure(
        c.transport.empty({ method: 'GET', path: '/anything', query: { status }, expect: [200] }),
      );
      codes[status] = error.code;
      expect(error.daemonMessage).toBe(`daemon says ${status}`);
      expect(error.statusCode).toBe(status);
    }
    expect(codes).toMatchInlineSnapshot(`
      {
        "400": "DOCKER_BAD_PARAMETER",
        "401": "DOCKER_UNAUTHORIZED",
        "403": "DOCKER_FORBIDDEN",
        "404": "DOCKER_NOT_FOUND",
        "409": "DOCKER_CONFLICT",
        "418": "DOCKER_UNEXPECTED_STATUS",
        "500": "DOCKER_DAEMON_ERROR",
        "503": "DOCKER_DAEMON_ERROR",
      }
    `);
  });

  test('a log stream cut inside a frame → protocol error on the stream', async () => {
    await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
      const frame = encodeFrame('stdout', Buffer.from('hello world'));
      res.end(frame.subarray(0, 12));
    });
    const logs = await client().containers.logs('abc', { tty: false });
    const error = await failure(logs.collect());
    expect(error.code).toBe('DOCKER_PROTOCOL_ERROR');
  });

  test('a streamed JSON line that never ends → protocol error, memory bounded', async () => {
    await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = 'x'.repeat(1024 * 1024);
      const timer = setInterval(() => socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`), 1);
      socket.on('close', () => clearInterval(timer));
    });
    const events = client().system.events();
    const error = await failure(
      (async () => {
        for await (const _ of events) {
          // never reached
        }
      })(),
    );
    expect(error.code).toBe('DOCKER_PROTOCOL_ERROR');
    expect(error.message).toBe('a streamed JSON line exceeds 16777216 bytes');
  });

  test('a hijack answered with garbage → protocol error; with 404 → not found with the message', async () => {
    await rawServer((socket, request) => {
      if (request.includes('/containers/garbage/attach')) socket.end('\x00\x01\x02 nonsense\r\n\r\n');
      else
        socket.end(
          'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{"message":"No such container: ghost"}\n',
        );
    });
    const c = client();
    expect((await failure(c.containers.attach('garbage'))).code).toBe('DOCKER_PROTOCOL_ERROR');
    const notFound = await failure(c.containers.attach('ghost'));
    expect({ code: notFound.code, message: notFound.message }).toMatchInlineSnapshot(`
      {
        "code": "DOCKER_NOT_FOUND",
        "message": "[POST] /v1.41/containers/ghost/attach: 404 No such container: ghost",
      }
    `);
  });

  test('a hijack that never upgrades → timeout', async () => {
    await rawServer(() => {});
    const error = await failure(client({ timeout: 300 }).containers.attach('abc'));
    expect(error.code).toBe('DOCKER_TIMEOUT');
  });
});

describe('connection handling', () => {
  test('keep-alive: 30 sequential calls reuse pooled connections', async () => {
    const s = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"Version":"x"}');
    });
    const c = client();
    for (let i = 0; i < 30; i++) await c.system.version();
    // undici may open a second connection while the first is being released; it never opens one per call
    expect(s.connections()).toBeLessThanOrEqual(2);
  });
});

describe('API version negotiation', () => {
  async function negotiated(header: string | undefined, versionBody?: string): Promise<string[]> {
    const paths: string[] = [];
    await httpServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/_ping') {
        res.writeHead(200, header ? { 'api-version': header } : {});
        res.end('OK');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/version' ? (versionBody ?? '{}') : '{}');
    });
    await client({ apiVersion: null }).system.info();
    return paths;
  }

  test('a newer daemon is spoken to at 1.41', async () => {
    expect(await negotiated('1.47')).toEqual(['/_ping', '/v1.41/info']);
  });

  test('an older daemon is spoken to at its own version', async () => {
    expect(await negotiated('1.30')).toEqual(['/_ping', '/v1.30/info']);
  });

  test('without Api-Version on /_ping, GET /version decides', async () => {
    expect(await negotiated(undefined, '{"ApiVersion":"1.40"}')).toEqual(['/_ping', '/version', '/v1.40/info']);
  });

  test('a daemon below 1.25 is refused', async () => {
    await httpServer((_req, res) => {
      res.writeHead(200, { 'api-version': '1.24' });
      res.end('OK');
    });
    const error = await failure(client({ apiVersion: null }).system.info());
    expect(error.code).toBe('DOCKER_API_VERSION_UNSUPPORTED');
  });
});

describe('long calls do not starve the pool', () => {
  test('20 pending waits do not block a ping', async () => {
    const pending: ServerResponse[] = [];
    await httpServer((req, res) => {
      if (req.url?.includes('/wait')) {
        pending.push(res);
        return;
      }
      res.writeHead(200, { 'api-version': '1.41' });
      res.end('OK');
    });
    const c = client();
    const controller = new AbortController();
    const waits = Array.from({ length: 20 }, (_, i) =>
      c.containers.wait(`c${i}`, { signal: controller.signal }).catch((e: unknown) => e),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await c.system.ping({ timeout: 2_000 })).toEqual({ ok: true, apiVersion: '1.41' });
    controller.abort();
    const results = await Promise.all(waits);
    expect(results.every((e) => DockerError.isInstance(e) && e.code === 'DOCKER_ABORTED')).toBe(true);
  });
});

describe('disposal', () => {
  test('`await using` closes the client; later calls fail with a typed error', async () => {
    await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"Version":"x"}');
    });
    let escaped: DockerClient | undefined;
    {
      await using c = new DockerClient({ host: `unix://${socketPath}`, apiVersion: '1.41' });
      escaped = c;
      expect((await c.system.version()).Version).toBe('x');
    }
    const error = await failure(escaped.system.version());
    expect(error.code).toBe('DOCKER_CLIENT_CLOSED');
  });
});
