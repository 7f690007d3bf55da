import { JobApiError, type JobApiErrorCode } from './errors.js';
import { redact } from './mask.js';
import type { TransportResponse } from './transport.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  return value.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** Reads at most `limit` bytes of an answer as text (error bodies; the rest is discarded). */
export async function readText(response: TransportResponse, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (size < limit) chunks.push(buffer.subarray(0, limit - size));
      size += buffer.length;
    }
  } catch {
    // A body cut short still tells us something.
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Decodes a JSON success answer (spec §2.2): the media type must be application/json and the body must parse.
 * Either failure is JOB_API_BAD_RESPONSE ("no answer" for health purposes).
 */
export async function readJson(response: TransportResponse, method: string): Promise<unknown> {
  const path = response.url.pathname;
  if (!isJsonContentType(response.headers['content-type'])) {
    await response.body.dump().catch(() => undefined);
    throw new JobApiError(
      'JOB_API_BAD_RESPONSE',
      `[${method}] ${path}: ${response.status}: server should return application/json, got ${response.headers['content-type'] ?? 'no content type'}`,
      { method, path, status: response.status },
    );
  }
  const text = await readText(response, 64 * 1024 * 1024);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new JobApiError('JOB_API_BAD_RESPONSE', `[${method}] ${path}: ${response.status}: answer is not valid JSON`, {
      method,
      path,
      status: response.status,
      cause: error,
    });
  }
}

/** GitLab's error bodies (spec §0.3) flattened as GitLab Runner shows them: `field: a; b, field2: c`. */
export function flattenServerMessage(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text.trim();
  }
  if (typeof parsed !== 'object' || parsed === null) return String(parsed);
  const record = parsed as Record<string, unknown>;
  const message = record.message ?? record.error;
  if (typeof message === 'string') return message;
  if (typeof message === 'object' && message !== null) {
    return Object.entries(message as Record<string, unknown>)
      .map(([field, value]) => `${field}: ${Array.isArray(value) ? value.join('; ') : String(value)}`)
      .join(', ');
  }
  return text.trim();
}

/** Builds an error for an unexpected status: `[PATCH] /api/v4/jobs/42/trace: 416 Range Not Satisfiable (msg)`. */
export async function statusError(
  response: TransportResponse,
  method: string,
  code: JobApiErrorCode,
  secrets: (string | undefined)[],
  detail?: string,
): Promise<JobApiError> {
  const serverMessage = redact(flattenServerMessage(await readText(response)), secrets);
  const path = response.url.pathname;
  const head = `[${method}] ${path}: ${response.status} ${statusText(response.status)}`.trimEnd();
  const parts = [detail, serverMessage].filter((p) => p && p.length > 0);
  return new JobApiError(code, parts.length > 0 ? `${head} (${parts.join(': ')})` : head, {
    method,
    path,
    status: response.status,
    serverMessage,
    retryable: response.status >= 500 || response.status === 429 || response.status === 408,
  });
}
