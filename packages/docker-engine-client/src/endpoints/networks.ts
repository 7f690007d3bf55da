import type { CallOptions, Transport } from '../transport.js';
import type { EndpointSettings, Filters, Network, NetworkCreateRequest, PruneResponse } from '../types.js';
import { segment } from './path.js';

/** networks: create, inspect, list, connect, disconnect, remove, prune. */
export class NetworkEndpoints {
  constructor(private readonly transport: Transport) {}

  /**
   * POST /networks/create: 201 `{Id, Warning}`. 409 (name taken with CheckDuplicate) ConflictError;
   * 400 BadParameterError; 403 ForbiddenError (driver refuses). MTU: `Options: {'com.docker.network.driver.mtu': '1400'}`.
   */
  create(request: NetworkCreateRequest, options: CallOptions = {}): Promise<{ Id: string; Warning?: string }> {
    return this.transport.json({
      method: 'POST',
      path: '/networks/create',
      json: { CheckDuplicate: true, ...request },
      expect: [201],
      ...options,
    });
  }

  /** GET /networks/{id}: 200; 404 NotFoundError. */
  inspect(id: string, options: CallOptions = {}): Promise<Network> {
    return this.transport.json({ method: 'GET', path: `/networks/${segment(id)}`, expect: [200], ...options });
  }

  /** GET /networks: 200. Filters e.g. `{ label: ['a=b'], name: ['x'] }`. */
  list(options: CallOptions & { filters?: Filters } = {}): Promise<Network[]> {
    return this.transport.json({
      method: 'GET',
      path: '/networks',
      query: { filters: options.filters },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** POST /networks/{id}/connect: 200; 404 NotFoundError; 403 ForbiddenError (e.g. host network). */
  async connect(
    id: string,
    container: string,
    endpoint: EndpointSettings = {},
    options: CallOptions = {},
  ): Promise<void> {
    await this.transport.empty({
      method: 'POST',
      path: `/networks/${segment(id)}/connect`,
      json: { Container: container, EndpointConfig: endpoint },
      expect: [200],
      ...options,
    });
  }

  /** POST /networks/{id}/disconnect: 200; 404 NotFoundError; 403 ForbiddenError. */
  async disconnect(id: string, container: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
    await this.transport.empty({
      method: 'POST',
      path: `/networks/${segment(id)}/disconnect`,
      json: { Container: container, Force: options.force ?? false },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /** DELETE /networks/{id}: 204; 404 NotFoundError; 403 ForbiddenError (predefined or in use). */
  async remove(id: string, options: CallOptions = {}): Promise<void> {
    await this.transport.empty({ method: 'DELETE', path: `/networks/${segment(id)}`, expect: [200, 204], ...options });
  }

  /** POST /networks/prune: 200 (unused networks only). */
  prune(options: CallOptions & { filters?: Filters } = {}): Promise<PruneResponse> {
    return this.transport.json({
      method: 'POST',
      path: '/networks/prune',
      query: { filters: options.filters },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
  }
}
