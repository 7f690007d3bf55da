// Helpers for this package's tests: raw HTTP against the coordinator, fixtures from the shared spec.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { expect } from 'vitest';

export interface FixtureRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  rawQuery?: string;
  headers?: Record<string, string>;
  body?: unknown;
  bodyText?: string;
  bodyBytes?: number;
  multipart?: { name: string; filename?: string; contentType?: string; content: string }[];
}
export interface FixtureResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  bodyText?: string;
  bodyRef?: string;
}
export interface Exchange {
  name: string;
  request: FixtureRequest;
  response: FixtureResponse | null;
  serverStateBefore?: { storedBytes: number };
  serverStateAfter?: { storedBytes: number };
}

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/api/${name}`, import.meta.url), 'utf8')) as T;
}

export function exchangeNamed(file: string, name: string): Exchange {
  const exchanges = fixture<{ exchanges: Exchange[] }>(file).exchanges;
  const found = exchanges.find((entry) => entry.name === name);
  if (!found) throw new Error(`no exchange "${name}" in ${file}`);
  return found;
}

export const BOUNDARY = '3d6b6a416f9b5e1c8d7a2f0e9c4b1a5d7e3f2c1b0a9e8d7c6b5a4f3e2d1c';

export function multipartBody(parts: NonNullable<FixtureRequest['multipart']>, boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = part.filename
      ? `form-data; name="${part.name}"; filename="${part.filename}"`
      : `form-data; name="${part.name}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n`));
    if (part.contentType) chunks.push(Buffer.from(`Content-Type: ${part.contentType}\r\n`));
    chunks.push(Buffer.from(`\r\n${part.content}\r\n`));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends a fixture request as written (over raw HTTP; undici only moves the bytes). */
export async function send(
  base: string,
  fixtureRequest: FixtureRequest,
  options: { chunked?: boolean; multipartFallback?: string } = {},
): Promise<RawResponse> {
  const query =
    fixtureRequest.rawQuery ?? (fixtureRequest.query ? new URLSearchParams(fixtureRequest.query).toString() : '');
  const url = `${base}${fixtureRequest.path}${query ? `?${query}` : ''}`;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(fixtureRequest.headers ?? {})) {
    if (['content-length', 'transfer-encoding', 'host'].includes(name.toLowerCase())) continue;
    headers[name] = value;
  }
  let body: Buffer | Readable | undefined;
  if (fixtureRequest.body !== undefined) body = Buffer.from(JSON.stringify(fixtureRequest.body));
  else if (fixtureRequest.bodyText !== undefined && fixtureRequest.bodyText !== '')
    body = Buffer.from(fixtureRequest.bodyText);
  else if (fixtureRequest.multipart) body = multipartBody(fixtureRequest.multipart);
  else if (options.multipartFallback !== undefined) {
    body = multipartBody([
      {
        name: 'file',
        filename: 'artifacts.zip',
        contentType: 'application/octet-stream',
        content: options.multipartFallback,
      },
    ]);
  }
  if (body && options.chunked && Buffer.isBuffer(body)) body = Readable.from([body]);
  const response = await request(url, {
    method: fixtureRequest.method as 'GET',
    headers,
    body,
    maxRedirections: 0,
  } as Parameters<typeof request>[1]);
  const data = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body: data };
}

/** Checks status, every documented header (Content-Type by media type) and the body of an answer. */
export function expectResponse(actual: RawResponse, expected: FixtureResponse, bodyMatcher?: unknown): void {
  expect(actual.status).toBe(expected.status);
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    if (['x-request-id', 'date', 'content-length'].includes(name.toLowerCase())) continue;
    const got = actual.headers[name.toLowerCase()];
    if (name.toLowerCase() === 'content-type') {
      expect(String(got).split(';')[0], `header ${name}`).toBe(value.split(';')[0]);
    } else {
      expect(got, `header ${name}`).toBe(value);
    }
  }
  if (bodyMatcher !== undefined) {
    expect(JSON.parse(actual.body.toString('utf8'))).toEqual(bodyMatcher);
  } else if (expected.body !== undefined) {
    expect(JSON.parse(actual.body.toString('utf8'))).toEqual(expected.body);
  } else if (expected.bodyRef !== undefined) {
    expect(JSON.parse(actual.body.toString('utf8'))).toEqual(fixture(expected.bodyRef));
  } else if (expected.bodyText !== undefined) {
    expect(actual.body.toString('utf8')).toBe(expected.bodyText);
  }
}
