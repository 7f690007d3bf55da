/** The shape of `.test-components/state.json`, written by `scripts/test-components up`. */
export interface TestComponentsState {
  docker: {
    /** Unix socket path, e.g. /var/run/docker.sock */
    socket: string;
    /** Plain TCP front, `tcp://127.0.0.1:2375` */
    tcp: string;
    tls: {
      /** Mutual-TLS front, `tcp://127.0.0.1:2376` */
      host: string;
      /** Directory holding the client's ca.pem, cert.pem and key.pem */
      certPath: string;
    };
  };
  images: {
    busybox: string;
    debian: string;
    entrypoint: string;
    entrypointWrapper: string;
    serviceHttp: string;
  };
  registry: {
    /** `127.0.0.1:5000`, no auth */
    plain: string;
    auth: { address: string; username: string; password: string };
  };
  ssh: {
    host: string;
    port: number;
    keyUser: string;
    keyFile: string;
    passwordUser: string;
    password: string;
    knownHosts: string;
  };
  s3: { endpoint: string; accessKey: string; secretKey: string; bucket: string };
  azure: { endpoint: string; accountName: string; accountKey: string; container: string };
  git: {
    /** `http://127.0.0.1:8929` */
    url: string;
    /** The fixed job token the server accepts as `gitlab-ci-token:<token>` */
    token: string;
    repos: Record<string, { url: string; path: string }>;
  };
}

export type ComponentName = keyof TestComponentsState;

export const COMPONENT_NAMES: readonly ComponentName[] = [
  'docker',
  'images',
  'registry',
  'ssh',
  's3',
  'azure',
  'git',
] as const;

/** The `scripts/test-components up NAME` argument that provides each state key. */
export const SCRIPT_NAME: Record<ComponentName, string> = {
  docker: 'docker',
  images: 'images',
  registry: 'registry',
  ssh: 'sshd',
  s3: 's3',
  azure: 'azure',
  git: 'git',
};
