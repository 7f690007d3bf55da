import { AttachedSession } from '../stream/output.js';
import type { CallOptions, Transport } from '../transport.js';
import type { ExecCreateRequest, ExecInspect } from '../types.js';
import { segment } from './path.js';

export interface ExecStartOptions extends CallOptions {
  /** Must match the exec's `Tty`; decides raw vs multiplexed output. */
  tty?: boolean;
}

/** exec: create, start (hijacked), inspect. */
export class ExecEndpoints {
  constructor(private readonly transport: Transport) {}

  /** POST /containers/{id}/exec: 201 `{Id}`; 404 NotFoundError; 409 (container not running) ConflictError. */
  async create(containerId: string, config: ExecCreateRequest, options: CallOptions = {}): Promise<{ Id: string }> {
    return this.transport.json({
      method: 'POST',
      path: `/containers/${segment(containerId)}/exec`,
      json: { AttachStdout: true, AttachStderr: true, ...config },
      expect: [201],
      ...options,
    });
  }

  /**
   * POST /exec/{id}/start (hijacked: 101 Upgrade): the session carries stdin (if the exec has AttachStdin) and
   * output. 404 NotFoundError; 409 ConflictError (container paused/stopped).
   */
  async start(id: string, options: ExecStartOptions = {}): Promise<AttachedSession> {
    const { socket } = await this.transport.hijack({
      method: 'POST',
      path: `/exec/${segment(id)}/start`,
      json: { Detach: false, Tty: options.tty ?? false },
      expect: [101],
      timeout: options.timeout,
      signal: options.signal,
    });
    return new AttachedSession(socket, options.tty ? 'raw' : 'multiplexed');
  }

  /** POST /exec/{id}/start with Detach: 200 immediately. */
  async startDetached(id: string, options: CallOptions = {}): Promise<void> {
    await this.transport.empty({
      method: 'POST',
      path: `/exec/${segment(id)}/start`,
      json: { Detach: true, Tty: false },
      expect: [200],
      ...options,
    });
  }

  /** GET /exec/{id}/json: 200; 404 NotFoundError. */
  inspect(id: string, options: CallOptions = {}): Promise<ExecInspect> {
    return this.transport.json({ method: 'GET', path: `/exec/${segment(id)}/json`, expect: [200], ...options });
  }
}
