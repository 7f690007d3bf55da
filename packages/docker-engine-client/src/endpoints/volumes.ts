import type { CallOptions, Transport } from '../transport.js';
import type { Filters, PruneResponse, Volume, VolumeCreateRequest, VolumeListResponse } from '../types.js';
import { segment } from './path.js';

/** volumes: create, inspect, list, remove, prune. */
export class VolumeEndpoints {
  constructor(private readonly transport: Transport) {}

  /** POST /volumes/create: 201 (also when the volume already exists with the same driver). */
  create(request: VolumeCreateRequest = {}, options: CallOptions = {}): Promise<Volume> {
    return this.transport.json({
      method: 'POST',
      path: '/volumes/create',
      json: request,
      expect: [200, 201],
      ...options,
    });
  }

  /** GET /volumes/{name}: 200; 404 NotFoundError. */
  inspect(name: string, options: CallOptions = {}): Promise<Volume> {
    return this.transport.json({ method: 'GET', path: `/volumes/${segment(name)}`, expect: [200], ...options });
  }

  /** GET /volumes: 200. Filters e.g. `{ label: ['a=b'], dangling: ['true'] }`. */
  async list(options: CallOptions & { filters?: Filters } = {}): Promise<Volume[]> {
    const response = await this.transport.json<VolumeListResponse>({
      method: 'GET',
      path: '/volumes',
      query: { filters: options.filters },
      expect: [200],
      timeout: options.timeout,
      signal: options.signal,
    });
    return response.Volumes ?? [];
  }

  /** DELETE /volumes/{name}: 204; 404 NotFoundError; 409 (in use) ConflictError. */
  async remove(name: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
    await this.transport.empty({
      method: 'DELETE',
      path: `/volumes/${segment(name)}`,
      query: { force: options.force },
      expect: [204],
      timeout: options.timeout,
      signal: options.signal,
    });
  }

  /**
   * POST /volumes/prune: 200. On API < 1.42 every unused volume matching the filters goes (named too);
   * filter by label, e.g. `{ label: ['com.gitlab.gitlab-runner.managed=true'] }`.
   */
  prune(options: CallOptions & { filters?: Filters } = {}): Promise<PruneResponse> {
    return this.transport.json({
      method: 'POST',
      path: '/volumes/prune',
      query: { filters: options.filters },
      expect: [200],
      long: true,
      timeout: options.timeout,
      signal: options.signal,
    });
  }
}
