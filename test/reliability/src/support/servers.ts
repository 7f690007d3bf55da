// Tiny misbehaving servers on 127.0.0.1 (TCP) or a unix socket in a temporary directory.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void | Promise<void>;

export interface TestServer {
  readonly url: string;
  handler: Handler;
  close(): Promise<void>;
}

function serve(handler: Handler): { server: Server; sockets: Set<Socket>; state: { handler: Handler } } {
  const state = { handler };
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      Promise.resolve(state.handler(request, response, Buffer.concat(chunks))).catch(() => request.socket.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return { server, sockets, state };
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startHttpServer(handler: Handler): Promise<TestServer> {
  const { server, sockets, state } = serve(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get handler() {
      return state.handler;
    },
    set handler(next: Handler) {
      state.handler = next;
    },
    close: () => closeServer(server, sockets),
  };
}

export async function startUnixServer(path: string, handler: Handler): Promise<TestServer> {
  const { server, sockets, state } = serve(handler);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    url: `unix://${path}`,
    get handler() {
      return state.handler;
    },
    set handler(next: Handler) {
      state.handler = next;
    },
    close: () => closeServer(server, sockets),
  };
}

/** How a fuzzed answer misbehaves. */
export interface Answer {
  behaviour: 'answer' | 'drop' | 'partial-body' | 'stall-headers' | 'stall-body' | 'wrong-length';
  status: number;
  contentType: string | null;
  headers: Record<string, string>;
  body: Buffer;
}

/** Writes `answer`; stalls last `stallMs` (the client's timeouts must end them). */
export function writeAnswer(request: IncomingMessage, response: ServerResponse, answer: Answer, stallMs: number): void {
  const socket = request.socket;
  switch (answer.behaviour) {
    case 'drop':
      socket.destroy();
      return;
    case 'stall-headers':
      setTimeout(() => socket.destroy(), stallMs).unref();
      return;
    default:
      break;
  }
  const headers: Record<string, string> = { ...answer.headers };
  if (answer.contentType !== null) headers['content-type'] = answer.contentType;
  try {
    if (answer.behaviour === 'wrong-length') headers['content-length'] = String(answer.body.length + 10);
    else if (answer.behaviour === 'answer') headers['content-length'] = String(answer.body.length);
    response.writeHead(answer.status, headers);
  } catch {
    // a fuzzed header node:http refuses to send: answer without it
    response.writeHead(answer.status, answer.contentType === null ? {} : { 'content-type': answer.contentType });
  }
  if (answer.behaviour === 'answer') {
    response.end(answer.body);
    return;
  }
  response.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
  if (answer.behaviour === 'partial-body' || answer.behaviour === 'wrong-length') {
    setTimeout(() => socket.destroy(), 5).unref();
  } else {
    setTimeout(() => socket.destroy(), stallMs).unref();
  }
}
