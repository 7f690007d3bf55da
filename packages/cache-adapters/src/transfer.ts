import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import type { CacheDownload, CacheObjectStream, CacheUpload } from './adapter.js';
import { CacheTransferError } from './errors.js';
import { redactUrl } from './redact.js';

export interface TransferOptions {
  /** undici dispatcher (proxy, connection limits, tests). */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function failure(method: string, url: URL, statusCode: number, body: Dispatcher.ResponseData['body']) {
  const text = (await body.text().catch(() => '')).slice(0, 512);
  return new CacheTransferError(
    statusCode === 404 ? 'CACHE_OBJECT_NOT_FOUND' : 'CACHE_TRANSFER_FAILED',
    `[${method}] ${redactUrl(url)}: ${statusCode}${text ? ` ${text.replace(/\s+/g, ' ').trim()}` : ''}`,
    { status: statusCode },
  );
}

/** Reads one object through an adapter's download target; `undefined` when it does not exist. */
export async function downloadCacheObject(
  download: CacheDownload,
  options: TransferOptions = {},
): Promise<CacheObjectStream | undefined> {
  if (download.type === 'stream') return download.open();
  const { get } = download;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(get.url, {
      method: 'GET',
      headers: get.headers,
      dispatcher: options.dispatcher,
      signal: options.signal,
    });
  } catch (error) {
    throw new CacheTransferError('CACHE_TRANSFER_FAILED', `[GET] ${redactUrl(get.url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (response.statusCode === 404) {
    await response.body.dump();
    return undefined;
  }
  if (response.statusCode !== 200) throw await failure('GET', get.url, response.statusCode, response.body);
  const length = Number(headerValue(response.headers['content-length']) ?? Number.NaN);
  const modified = headerValue(response.headers['last-modified']);
  return {
    stream: response.body,
    size: Number.isFinite(length) ? length : -1,
    lastModified: modified ? new Date(modified) : new Date(0),
  };
}

/** Writes a local file as one object through an adapter's upload target. */
export async function uploadCacheFile(upload: CacheUpload, file: string, options: TransferOptions = {}): Promise<void> {
  const info = await stat(file);
  if (upload.type === 'stream') {
    await upload.write(createReadStream(file), { lastModified: info.mtime });
    return;
  }
  const { put } = upload;
  if (upload.maxSize !== undefined && upload.maxSize > 0 && info.size > upload.maxSize) {
    throw new CacheTransferError(
      'CACHE_TRANSFER_FAILED',
      `Cache archive size (${info.size}) is too big (Limit is set to ${upload.maxSize})`,
    );
  }
  let response: Dispatcher.ResponseData;
  try {
    response = await request(put.url, {
      method: 'PUT',
      headers: { ...put.headers, 'content-length': String(info.size) },
      body: Readable.from(createReadStream(file)),
      dispatcher: options.dispatcher,
      signal: options.signal,
    });
  } catch (error) {
    throw new CacheTransferError('CACHE_TRANSFER_FAILED', `[PUT] ${redactUrl(put.url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (response.statusCode < 200 || response.statusCode > 299) {
    throw await failure('PUT', put.url, response.statusCode, response.body);
  }
  await response.body.dump();
}
