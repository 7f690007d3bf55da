import { ContainerEndpoints } from './endpoints/containers.js';
import { ExecEndpoints } from './endpoints/exec.js';
import { ImageEndpoints } from './endpoints/images.js';
import { NetworkEndpoints } from './endpoints/networks.js';
import { SystemEndpoints } from './endpoints/system.js';
import { VolumeEndpoints } from './endpoints/volumes.js';
import { type CallOptions, type DockerClientOptions, Transport } from './transport.js';

/** A Docker Engine API client: one keep-alive pool, resources grouped by endpoint family. */
export class DockerClient {
  readonly transport: Transport;
  readonly system: SystemEndpoints;
  readonly images: ImageEndpoints;
  readonly containers: ContainerEndpoints;
  readonly exec: ExecEndpoints;
  readonly networks: NetworkEndpoints;
  readonly volumes: VolumeEndpoints;

  constructor(options: DockerClientOptions = {}) {
    this.transport = new Transport(options);
    this.system = new SystemEndpoints(this.transport);
    this.images = new ImageEndpoints(this.transport);
    this.containers = new ContainerEndpoints(this.transport);
    this.exec = new ExecEndpoints(this.transport);
    this.networks = new NetworkEndpoints(this.transport);
    this.volumes = new VolumeEndpoints(this.transport);
  }

  /** The API version in use: pinned, or min(daemon, 1.41) negotiated through GET /_ping on first use. */
  apiVersion(options: CallOptions = {}): Promise<string> {
    return this.transport.apiVersion(options);
  }

  /** Closes pooled connections (hijacked sessions are the caller's). */
  close(): Promise<void> {
    return this.transport.close();
  }

  /** `await using docker = createDockerClient()` closes the pool at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Creates a client. Example: `createDockerClient({ host: 'tcp://127.0.0.1:2376', tls: { ca, cert, key } })`. */
export function createDockerClient(options: DockerClientOptions = {}): DockerClient {
  return new DockerClient(options);
}
