// Test support: tiny node:http servers on 127.0.0.1:0 that answer as the spec's fixtures say.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../transport.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The client's port: tells connections apart. */
  remotePort: number;
}

export interface ReplyOptions {
  status: number;
  headers?: Record<string, string | undefined>;
  body?: string | Buffer | object;
}

/** `null` drops the connection without answering. */
export type Handler = (request: RecordedRequest) => ReplyOptions | null | Promise<ReplyOptions | null>;

export interface TestServer {
  url: string;
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
  handle(handler: Handler): void;
}

export async function startServer(handler: Handler = () => ({ status: 404 })): Promise<TestServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        rawQuery: url.search.replace(/^\?/, ''),
        headers,
        body: Buffer.concat(chunks),
        remotePort: req.socket.remotePort ?? 0,
      };
      requests.push(recorded);
      const reply = await current(recorded);
      if (reply === null) {
        req.socket.destroy();
        return;
      }
      let body: Buffer;
      if (reply.body === undefined) body = Buffer.alloc(0);
      else if (Buffer.isBuffer(reply.body)) body = reply.body;
      else if (typeof reply.body === 'string') body = Buffer.from(reply.body);
      else body = Buffer.from(JSON.stringify(reply.body));
      const replyHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(reply.headers ?? {})) {
        if (value !== undefined) replyHeaders[name] = value;
      }
      res.writeHead(reply.status, replyHeaders);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/`,
    origin,
    requests,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '__fixtures__', 'api');

export function fixture<T = FixtureFile>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

export interface FixtureExchange {
  name: string;
  request: {
    method: string;
    path: string;
    query?: Record<string, string>;
    rawQuery?: string;
    headers?: Record<string, string>;
    body?: unknown;
    bodyText?: string;
    bodyBytes?: number;
  };
  response: {
    status: number;
    headers?: Record<string, string>;
    body?: unknown;
    bodyText?: string;
    bodyRef?: string;
  } | null;
  clientAction?: string;
  serverStateBefore?: { storedBytes: number };
  serverStateAfter?: { storedBytes: number };
}

export interface FixtureFile {
  description: string;
  dynamicHeaders: string[];
  exchanges: FixtureExchange[];
}

export function exchange(file: FixtureFile, name: string): FixtureExchange {
  const found = file.exchanges.find((e) => e.name === name);
  if (!found) throw new Error(`no exchange "${name}"`);
  return found;
}

/** The fixture's answer as a server reply. */
export function replyOf(ex: FixtureExchange): ReplyOptions | null {
  const response = ex.response;
  if (response === null) return null;
  let body: string | object | undefined;
  if (response.bodyRef) body = readFileSync(join(FIXTURES, response.bodyRef), 'utf8');
  else if (response.body !== undefined) body = JSON.stringify(response.body);
  else body = response.bodyText;
  return { status: response.status, headers: response.headers ?? {}, ...(body !== undefined ? { body } : {}) };
}

/**
 * The parts of a recorded request the fixture fixes: method, path, query, non-dynamic headers (compared
 * case-insensitively) and the body. Returns both sides shaped alike for `expect(...).toEqual(...)`.
 */
export function compareRequest(file: { dynamicHeaders: string[] }, ex: FixtureExchange, actual: RecordedRequest) {
  const dynamic = new Set(file.dynamicHeaders.map((h) => h.toLowerCase()));
  const expectedHeaders: Record<string, string> = {};
  const actualHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(ex.request.headers ?? {})) {
    const key = name.toLowerCase();
    if (dynamic.has(key)) continue;
    // The boundary is random per request; check the media type only.
    if (key === 'content-type' && value.startsWith('multipart/form-data')) {
      expectedHeaders[key] = 'multipart/form-data';
      actualHeaders[key] = (actual.headers[key] ?? '').split(';')[0] ?? '';
      continue;
    }
    expectedHeaders[key] = value;
    actualHeaders[key] = actual.headers[key] ?? '<absent>';
  }
  const expected: Record<string, unknown> = {
    method: ex.request.method,
    path: ex.request.path,
    query: ex.request.query ?? (ex.request.rawQuery !== undefined ? {} : actual.query),
    headers: expectedHeaders,
  };
  const got: Record<string, unknown> = {
    method: actual.method,
    path: actual.path,
    query: actual.query,
    headers: actualHeaders,
  };
  if (ex.request.rawQuery !== undefined) {
    expected.rawQuery = ex.request.rawQuery;
    got.rawQuery = actual.rawQuery;
  }
  if (ex.request.body !== undefined) {
    expected.body = ex.request.body;
    got.body = actual.body.length > 0 ? JSON.parse(actual.body.toString('utf8')) : undefined;
  }
  if (ex.request.bodyText !== undefined) {
    expected.bodyText = ex.request.bodyText;
    got.bodyText = actual.body.toString('utf8');
  }
  if (ex.request.bodyBytes !== undefined) {
    expected.bodyBytes = ex.request.bodyBytes;
    got.bodyBytes = actual.body.length;
  }
  return { expected, actual: got };
}

/** A clock whose sleeps return at once and are recorded. */
export function instantClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now(),
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new Error('aborted');
      sleeps.push(ms);
    },
  };
}

/** The runner info the fixtures were recorded with. */
export const FIXTURE_RUNNER = {
  name: 'runnerkit',
  version: '0.1.0',
  revision: '1a2b3c4d',
  platform: 'linux',
  architecture: 'amd64',
  executor: 'docker',
  shell: 'bash',
} as const;
