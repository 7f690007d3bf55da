import type { IncomingMessage, ServerResponse } from 'node:http';

export type Headers = Record<string, string>;

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

/** GitLab's plain-text success bodies (`200`, `201`, `202`, `400`). */
export function sendText(response: ServerResponse, status: number, text: string, headers: Headers = {}): void {
  response.writeHead(status, {
    'Content-Type': 'text/plain',
    ...headers,
    'Content-Length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

export function sendEmpty(response: ServerResponse, status: number, headers: Headers = {}): void {
  response.writeHead(status, headers);
  response.end();
}

/** `{"message": "<text>"}`, GitLab's usual error body. */
export function sendMessage(response: ServerResponse, status: number, message: unknown, headers: Headers = {}): void {
  sendJson(response, status, { message }, headers);
}

export class BodyTooLargeError extends Error {}

export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        reject(new BodyTooLargeError(`body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks, size)));
    request.on('error', reject);
  });
}

/** Decodes a JSON body; `undefined` when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A request header, compared case-insensitively (Node lower-cases names). */
export function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  if (Array.isArray(value)) return value[0];
  return value;
}
