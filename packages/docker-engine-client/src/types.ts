// Request and response shapes of the Engine API (v1.41) for the fields runnerkit uses. Responses keep an index
// signature-free shape: fields the daemon adds later are simply not typed, never rejected.

/** `filters` query: `{ label: ['a=b'], status: ['exited'] }`. */
export type Filters = Record<string, string[]>;

export type Labels = Record<string, string>;

// ---- system ------------------------------------------------------------------------------------------------

export interface VersionResponse {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  BuildTime?: string;
  Components?: { Name: string; Version: string; Details?: Record<string, string> }[];
}

export interface InfoResponse {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DockerRootDir: string;
  OSType: string;
  OperatingSystem: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  Name: string;
  ServerVersion: string;
  KernelVersion: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  SecurityOptions?: string[];
  Runtimes?: Record<string, { path?: string }>;
  DefaultRuntime?: string;
  Labels?: string[];
}

export interface SystemDfResponse {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: ContainerSummary[];
  Volumes: Volume[];
  BuildCache?: { ID: string; Size: number; InUse: boolean; Type: string }[];
}

export interface DockerEvent {
  Type:
    | 'container'
    | 'image'
    | 'volume'
    | 'network'
    | 'daemon'
    | 'plugin'
    | 'node'
    | 'service'
    | 'secret'
    | 'config'
    | string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: 'local' | 'swarm';
  time: number;
  timeNano: number;
  /** Deprecated fields still sent by 20.10 for container events. */
  status?: string;
  id?: string;
  from?: string;
}

// ---- images ------------------------------------------------------------------------------------------------

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Parent?: string;
  Created: string;
  Os: string;
  Architecture: string;
  Variant?: string;
  Size: number;
  Config: ContainerConfig | null;
  RootFS?: { Type: string; Layers?: string[] };
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Labels | null;
  Containers: number;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** One line of the pull / load / import progress stream. */
export interface ProgressEvent {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** Registry credentials; sent as the base64url JSON `X-Registry-Auth` header. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** e.g. `127.0.0.1:5001` or `https://index.docker.io/v1/` */
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

// ---- containers --------------------------------------------------------------------------------------------

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

/** The container's own configuration (`Config` on create and inspect). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[];
  Cmd?: string[];
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Entrypoint?: string[];
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[];
  Labels?: Labels;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface DeviceRequest {
  Driver?: string;
  Count?: number;
  DeviceIDs?: string[];
  Capabilities?: string[][];
  Options?: Record<string, string>;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface Mount {
  Target: string;
  Source?: string;
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe';
  ReadOnly?: boolean;
  Consistency?: 'default' | 'consistent' | 'cached' | 'delegated';
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Labels;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface LogConfig {
  Type:
    | 'json-file'
    | 'syslog'
    | 'journald'
    | 'gelf'
    | 'fluentd'
    | 'awslogs'
    | 'splunk'
    | 'etwlogs'
    | 'none'
    | 'local'
    | string;
  Config?: Record<string, string>;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** Host-side configuration; every field `[runners.docker]` maps to (see docker-executor spec §5.6). */
export interface HostConfig {
  // resources
  CpuShares?: number;
  Memory?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  BlkioWeightDevice?: { Path: string; Weight: number }[];
  BlkioDeviceReadBps?: { Path: string; Rate: number }[];
  BlkioDeviceWriteBps?: { Path: string; Rate: number }[];
  BlkioDeviceReadIOps?: { Path: string; Rate: number }[];
  BlkioDeviceWriteIOps?: { Path: string; Rate: number }[];
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[];
  DeviceCgroupRules?: string[];
  DeviceRequests?: DeviceRequest[];
  KernelMemoryTCP?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number;
  NanoCpus?: number;
  OomKillDisable?: boolean;
  Init?: boolean;
  PidsLimit?: number;
  Ulimits?: Ulimit[];
  // host
  Binds?: string[];
  ContainerIDFile?: string;
  LogConfig?: LogConfig;
  NetworkMode?: string;
  PortBindings?: Record<string, PortBinding[]>;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[];
  Mounts?: Mount[];
  CapAdd?: string[];
  CapDrop?: string[];
  CgroupnsMode?: 'private' | 'host';
  Dns?: string[];
  DnsOptions?: string[];
  DnsSearch?: string[];
  ExtraHosts?: string[];
  GroupAdd?: string[];
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[];
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[];
  StorageOpt?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  Isolation?: '' | 'default' | 'process' | 'hyperv';
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
}

export interface EndpointIPAMConfig {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[];
}

/** Per-network endpoint settings (create's NetworkingConfig, network connect). */
export interface EndpointSettings {
  IPAMConfig?: EndpointIPAMConfig | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointSettings>;
}

export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig;
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[] | null;
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; FailingStreak: number };
}

export interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform?: string;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  NetworkSettings: {
    Networks: Record<string, EndpointSettings>;
    Ports?: Record<string, PortBinding[] | null> | null;
    IPAddress?: string;
    Gateway?: string;
  };
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  Labels: Labels;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  NetworkSettings?: { Networks: Record<string, EndpointSettings> };
  Mounts?: MountPoint[];
}

export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

/** Decoded `X-Docker-Container-Path-Stat` header of archive GET/HEAD. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

// ---- exec --------------------------------------------------------------------------------------------------

export interface ExecCreateRequest {
  Cmd: string[];
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  DetachKeys?: string;
  Env?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { entrypoint: string; arguments: string[]; privileged: boolean; tty: boolean; user?: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  Pid: number;
}

// ---- networks ----------------------------------------------------------------------------------------------

export interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkCreateRequest {
  Name: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  IPAM?: { Driver?: string; Config?: IPAMConfig[]; Options?: Record<string, string> };
  EnableIPv6?: boolean;
  /** e.g. `{ 'com.docker.network.driver.mtu': '1400' }` */
  Options?: Record<string, string>;
  Labels?: Labels;
}

export interface Network {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  IPAM: { Driver: string; Config: IPAMConfig[] | null; Options: Record<string, string> | null };
  Containers?: Record<
    string,
    { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }
  >;
  Options: Record<string, string>;
  Labels: Labels;
}

// ---- volumes -----------------------------------------------------------------------------------------------

export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Labels;
}

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
  Labels: Labels | null;
  Scope: 'local' | 'global';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeListResponse {
  Volumes: Volume[] | null;
  Warnings: string[] | null;
}

export interface PruneResponse {
  /** Volumes: `VolumesDeleted`; containers: `ContainersDeleted`; networks: `NetworksDeleted`. */
  VolumesDeleted?: string[] | null;
  ContainersDeleted?: string[] | null;
  NetworksDeleted?: string[] | null;
  SpaceReclaimed?: number;
}
