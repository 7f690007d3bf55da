import { readJsonLines } from '../stream/json-lines.js';
import { type CallOptions, readText, type Transport } from '../transport.js';
import type { DockerEvent, Filters, InfoResponse, SystemDfResponse, VersionResponse } from '../types.js';

export interface EventsOptions extends CallOptions {
  /** Unix seconds or RFC 3339. */
  since?: string | number;
  until?: string | number;
  filters?: Filters;
}

/** ping, version, info, system df, events. */
export class SystemEndpoints {
  constructor(private readonly transport: Transport) {}

  /** GET /_ping → `OK`; 200 expected (503 → daemon error). */
  async ping(options: CallOptions = {}): Promise<{ ok: boolean; apiVersion: string | undefined }> {
    const response = await this.transport.request({
      method: 'GET',
      path: '/_ping',
      unversioned: true,
      expect: [200],
      ...options,
    });
    const text = await readText(response.body, 1024);
    const header = response.headers['api-version'];
    return { ok: text.trim() === 'OK', apiVersion: Array.isArray(header) ? header[0] : header };
  }

  /** GET /version: 200. */
  version(options: CallOptions = {}): Promise<VersionResponse> {
    return this.transport.json({ method: 'GET', path: '/version', expect: [200], ...options });
  }

  /** GET /info: 200. */
  info(options: CallOptions = {}): Promise<InfoResponse> {
    return this.transport.json({ method: 'GET', path: '/info', expect: [200], ...options });
  }

  /** GET /system/df: 200 (can be slow on big hosts: long call). */
  df(options: CallOptions = {}): Promise<SystemDfResponse> {
    return this.transport.json({ method: 'GET', path: '/system/df', expect: [200], long: true, ...options });
  }

  /**
   * GET /events: 200, a never-ending stream unless `until` is set. Stop it with `signal` or by breaking the loop.
   * `timeout` bounds only the wait for the daemon's headers.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<DockerEvent> {
    const response = await this.transport.request({
      method: 'GET',
      path: '/events',
      query: { since: options.since, until: options.until, filters: options.filters },
      expect: [200],
      streaming: true,
      timeout: options.timeout,
      signal: options.signal,
    });
    try {
      yield* readJsonLines<DockerEvent>(response.body);
    } finally {
      response.body.destroy();
    }
  }
}
