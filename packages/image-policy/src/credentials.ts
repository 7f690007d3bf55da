import { CredentialsError } from './errors.js';
import { credentialLookupPath, type ImageReference, parseImageReference } from './reference.js';
import { type TraceLine, traceLine } from './trace.js';

/** Source names GitLab Runner prints in `Authenticating with credentials from <source>`. */
export const DOCKER_AUTH_CONFIG_SOURCE = '$DOCKER_AUTH_CONFIG';
export const JOB_PAYLOAD_SOURCE = 'job payload (GitLab Registry)';

/** One set of registry credentials, with where it came from. */
export interface RegistryCredentials {
  /** `$DOCKER_AUTH_CONFIG`, the config file's path, or `job payload (GitLab Registry)`. */
  readonly source: string;
  /** Normalised key the credentials are matched by: `127.0.0.1:5001`, `registry.example.com/group`. */
  readonly registryPath: string;
  /** The server address as written in the source (sent as `serveraddress`). */
  readonly serverAddress: string;
  readonly username: string;
  readonly password: string;
  readonly identityToken?: string | undefined;
}

/** The `auths.<server>` entry of a Docker config file. */
export interface DockerAuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
  readonly email?: string;
}

/** The parts of ~/.docker/config.json (or DOCKER_AUTH_CONFIG) that hold credentials. */
export interface DockerConfigFile {
  readonly auths?: Readonly<Record<string, DockerAuthEntry>>;
  readonly credsStore?: string;
  readonly credHelpers?: Readonly<Record<string, string>>;
}

/** A job payload `credentials` entry. */
export interface PayloadCredential {
  readonly type: string;
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

/** A job payload variable (only `key` and `value` are read). */
export interface JobVariableLike {
  readonly key: string;
  readonly value: string;
}

/** A config file's contents and the path it was read from (the path is the source name in the job log). */
export interface ConfigFileContents {
  readonly path: string;
  readonly content: string | DockerConfigFile;
}

/** Everything credentials can come from; the caller reads files and the environment, this package never does. */
export interface CredentialSources {
  /** The job's variables; a `DOCKER_AUTH_CONFIG` here wins over the runner's `environment` entry. */
  readonly jobVariables?: readonly JobVariableLike[] | undefined;
  /** `[[runners]] environment` entries, `KEY=value`. */
  readonly runnerEnvironment?: readonly string[] | undefined;
  /** The runner user's ~/.docker/config.json, when it exists. */
  readonly dockerConfig?: ConfigFileContents | undefined;
  /** The runner user's ~/.dockercfg, used only when there is no config.json (legacy format accepted). */
  readonly dockercfg?: ConfigFileContents | undefined;
  /** The job payload's `credentials`; only `type: registry` entries count. */
  readonly payloadCredentials?: readonly PayloadCredential[] | undefined;
}

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin and resolves with its stdout.
 * Rejects with an Error whose message is the helper's output when it exits non-zero.
 * `@runnerkit/image-policy/credential-helper` has one that spawns the binary.
 */
export type CredentialHelperRunner = (helper: string, action: 'get' | 'list', input: string) => Promise<string>;

export interface ResolveCredentialsOptions {
  /** Needed only when a source uses `credsStore` or `credHelpers`. */
  readonly runCredentialHelper?: CredentialHelperRunner | undefined;
}

export interface CredentialResolution {
  /** Every credential found, first source first; the first entry for a registry path wins. */
  readonly credentials: readonly RegistryCredentials[];
  /** Warnings for the job log (a source that could not be read). */
  readonly lines: readonly TraceLine[];
}

const HELPER_NOT_FOUND = 'credentials not found in native keychain';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function lastValue(variables: readonly JobVariableLike[] | undefined, key: string): string | undefined {
  if (variables === undefined) return undefined;
  for (let i = variables.length - 1; i >= 0; i--) if (variables[i]!.key === key) return variables[i]!.value;
  return undefined;
}

function environmentValue(entries: readonly string[] | undefined, key: string): string | undefined {
  if (entries === undefined) return undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    const equals = entry.indexOf('=');
    if (equals !== -1 && entry.slice(0, equals) === key) return entry.slice(equals + 1);
  }
  return undefined;
}

/** The DOCKER_AUTH_CONFIG value in effect: the job's variable, else the runner's `environment` entry. */
export function dockerAuthConfigValue(sources: CredentialSources): string | undefined {
  return (
    lastValue(sources.jobVariables, 'DOCKER_AUTH_CONFIG') ??
    environmentValue(sources.runnerEnvironment, 'DOCKER_AUTH_CONFIG')
  );
}

/** The normalised registry path of a server address (GitLab's rule). `https://index.docker.io/v1/` → `docker.io`. */
export function registryPathOf(serverAddress: string): string {
  const scheme = /^https?:\/\//i;
  if (scheme.test(serverAddress)) {
    const host = serverAddress.replace(scheme, '').split('/', 1)[0]!.toLowerCase();
    return host === 'index.docker.io' ? 'docker.io' : host;
  }
  let path = serverAddress.endsWith('/') ? serverAddress.slice(0, -1) : serverAddress;
  const slash = path.lastIndexOf('/');
  const colon = path.lastIndexOf(':');
  if (slash !== -1 && colon > slash) path = path.slice(0, colon);
  const firstSlash = path.indexOf('/');
  const host = (firstSlash === -1 ? path : path.slice(0, firstSlash)).toLowerCase();
  const rest = firstSlash === -1 ? '' : path.slice(firstSlash);
  return `${host === 'index.docker.io' ? 'docker.io' : host}${rest}`;
}

function decodeAuth(source: string, server: string, auth: string): { username: string; password: string } {
  if (auth === '') return { username: '', password: '' };
  const decoded = BASE64.test(auth) ? Buffer.from(auth, 'base64').toString('utf8') : undefined;
  const colon = decoded?.indexOf(':') ?? -1;
  if (decoded === undefined || colon === -1) {
    throw new CredentialsError(
      'IMAGE_POLICY_INVALID_DOCKER_CONFIG',
      source,
      `invalid auth configuration file: the "auth" of "${server}" is not base64 of "username:password"`,
    );
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function asConfig(source: string, content: string | DockerConfigFile, legacy: boolean): DockerConfigFile | undefined {
  let value: unknown = content;
  if (typeof content === 'string') {
    if (content.trim() === '') return undefined;
    try {
      value = JSON.parse(content);
    } catch (error) {
      throw new CredentialsError(
        'IMAGE_POLICY_INVALID_DOCKER_CONFIG',
        source,
        `invalid JSON: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CredentialsError('IMAGE_POLICY_INVALID_DOCKER_CONFIG', source, 'the configuration is not a JSON object');
  }
  const record = value as Record<string, unknown>;
  const modern = 'auths' in record || 'credsStore' in record || 'credHelpers' in record;
  if (!modern && legacy) return { auths: record as Record<string, DockerAuthEntry> };
  const check = (key: string, test: (entry: unknown) => boolean): void => {
    if (record[key] !== undefined && !test(record[key])) {
      throw new CredentialsError('IMAGE_POLICY_INVALID_DOCKER_CONFIG', source, `"${key}" has the wrong type`);
    }
  };
  const isObject = (entry: unknown): boolean => typeof entry === 'object' && entry !== null && !Array.isArray(entry);
  check('auths', isObject);
  check('credHelpers', isObject);
  check('credsStore', (entry) => typeof entry === 'string');
  return record as DockerConfigFile;
}

function checkHelperName(source: string, helper: string): void {
  if (helper === '' || helper.includes('/') || helper.includes('\\') || helper === '.' || helper === '..') {
    throw new CredentialsError(
      'IMAGE_POLICY_CREDENTIAL_HELPER_REFUSED',
      source,
      `path traversal is not allowed (credential helper "${helper}")`,
    );
  }
}

interface HelperReply {
  ServerURL?: string;
  Username?: string;
  Secret?: string;
}

async function helperGet(
  source: string,
  run: CredentialHelperRunner,
  helper: string,
  server: string,
): Promise<{ username: string; password: string; identityToken?: string } | undefined> {
  let output: string;
  try {
    output = await run(helper, 'get', server);
  } catch (error) {
    if (String((error as Error)?.message ?? error).includes(HELPER_NOT_FOUND)) return undefined;
    throw new CredentialsError(
      'IMAGE_POLICY_CREDENTIAL_HELPER_FAILED',
      source,
      `docker-credential-${helper} get: ${(error as Error)?.message ?? String(error)}`.trim(),
      { cause: error },
    );
  }
  let reply: HelperReply;
  try {
    reply = JSON.parse(output) as HelperReply;
  } catch (error) {
    throw new CredentialsError(
      'IMAGE_POLICY_CREDENTIAL_HELPER_FAILED',
      source,
      `docker-credential-${helper} get: invalid JSON reply`,
      {
        cause: error,
      },
    );
  }
  const username = reply.Username ?? '';
  const secret = reply.Secret ?? '';
  if (username === '<token>') return { username: '', password: '', identityToken: secret };
  return { username, password: secret };
}

async function helperList(source: string, run: CredentialHelperRunner, helper: string): Promise<string[]> {
  try {
    const output = await run(helper, 'list', '');
    const servers = JSON.parse(output) as Record<string, string>;
    return Object.keys(servers);
  } catch (error) {
    throw new CredentialsError(
      'IMAGE_POLICY_CREDENTIAL_HELPER_FAILED',
      source,
      `docker-credential-${helper} list: ${(error as Error)?.message ?? String(error)}`.trim(),
      { cause: error },
    );
  }
}

type Entry = { username: string; password: string; identityToken?: string | undefined };

async function readConfig(
  source: string,
  config: DockerConfigFile,
  options: ResolveCredentialsOptions,
): Promise<RegistryCredentials[]> {
  const entries = new Map<string, Entry>();
  for (const [server, entry] of Object.entries(config.auths ?? {})) {
    if (typeof entry !== 'object' || entry === null) continue;
    const decoded =
      entry.auth !== undefined && entry.auth !== ''
        ? decodeAuth(source, server, entry.auth)
        : { username: entry.username ?? '', password: entry.password ?? '' };
    entries.set(server, { ...decoded, identityToken: entry.identitytoken });
  }
  const helpersUsed = (config.credsStore ?? '') !== '' || Object.keys(config.credHelpers ?? {}).length > 0;
  const run = options.runCredentialHelper;
  if (helpersUsed && run === undefined) {
    throw new CredentialsError(
      'IMAGE_POLICY_CREDENTIAL_HELPER_FAILED',
      source,
      'a credential helper is configured but no way to run credential helpers was given',
    );
  }
  if (run !== undefined && config.credsStore !== undefined && config.credsStore !== '') {
    checkHelperName(source, config.credsStore);
    for (const server of await helperList(source, run, config.credsStore)) {
      const found = await helperGet(source, run, config.credsStore, server);
      if (found !== undefined) entries.set(server, found);
    }
  }
  if (run !== undefined) {
    for (const [server, helper] of Object.entries(config.credHelpers ?? {})) {
      checkHelperName(source, helper);
      const found = await helperGet(source, run, helper, server);
      if (found !== undefined) entries.set(server, found);
    }
  }
  return [...entries.keys()].sort().map((server) => {
    const entry = entries.get(server)!;
    return {
      source,
      registryPath: registryPathOf(server),
      serverAddress: server,
      username: entry.username,
      password: entry.password,
      ...(entry.identityToken !== undefined && entry.identityToken !== ''
        ? { identityToken: entry.identityToken }
        : {}),
    };
  });
}

/**
 * Collects registry credentials from every source in GitLab Runner's order: `DOCKER_AUTH_CONFIG` (job variable,
 * else runner `environment`), the runner user's ~/.docker/config.json (else ~/.dockercfg), then the job payload.
 * A source that cannot be read is skipped with GitLab's warning; a helper name with a path in it is refused
 * (throws {@link CredentialsError}) as GitLab refuses it.
 */
export async function resolveRegistryCredentials(
  sources: CredentialSources,
  options: ResolveCredentialsOptions = {},
): Promise<CredentialResolution> {
  const lines: TraceLine[] = [];
  const credentials: RegistryCredentials[] = [];
  const add = (found: readonly RegistryCredentials[]): void => {
    for (const entry of found) {
      if (!credentials.some((existing) => existing.registryPath === entry.registryPath)) credentials.push(entry);
    }
  };
  const fromConfig = async (source: string, content: string | DockerConfigFile, legacy: boolean): Promise<void> => {
    try {
      const config = asConfig(source, content, legacy);
      if (config !== undefined) add(await readConfig(source, config, options));
    } catch (error) {
      if (error instanceof CredentialsError && error.code === 'IMAGE_POLICY_CREDENTIAL_HELPER_REFUSED') throw error;
      const message = error instanceof Error ? error.message : String(error);
      lines.push(
        traceLine(
          'warning',
          `Failed to resolve credentials from ${source}: ${message}. Credentials from this source will not be used.`,
        ),
      );
    }
  };

  const authConfig = dockerAuthConfigValue(sources);
  if (authConfig !== undefined) await fromConfig(DOCKER_AUTH_CONFIG_SOURCE, authConfig, false);
  if (sources.dockerConfig !== undefined) {
    await fromConfig(sources.dockerConfig.path, sources.dockerConfig.content, false);
  } else if (sources.dockercfg !== undefined) {
    await fromConfig(sources.dockercfg.path, sources.dockercfg.content, true);
  }
  add(
    (sources.payloadCredentials ?? [])
      .filter((entry) => entry.type === 'registry')
      .map((entry) => ({
        source: JOB_PAYLOAD_SOURCE,
        registryPath: registryPathOf(entry.url),
        serverAddress: entry.url,
        username: entry.username,
        password: entry.password,
      })),
  );
  return { credentials, lines };
}

/**
 * The credentials for an image: its normalised path, then each parent path (`a/b/c`, `a/b`, `a`), first hit
 * wins. The registry host must match exactly, port included.
 */
export function findCredentials(
  credentials: readonly RegistryCredentials[],
  image: string | ImageReference,
): RegistryCredentials | undefined {
  const reference = typeof image === 'string' ? parseImageReference(image) : image;
  for (let path = credentialLookupPath(reference); path !== ''; ) {
    const found = credentials.find((entry) => entry.registryPath === path);
    if (found !== undefined) return found;
    const slash = path.lastIndexOf('/');
    path = slash === -1 ? '' : path.slice(0, slash);
  }
  return undefined;
}

/** Resolves every source, then picks the credentials for `image`. */
export async function resolveImageCredentials(
  image: string | ImageReference,
  sources: CredentialSources,
  options: ResolveCredentialsOptions = {},
): Promise<{ readonly credentials: RegistryCredentials | undefined; readonly lines: readonly TraceLine[] }> {
  const reference = typeof image === 'string' ? parseImageReference(image) : image;
  const resolution = await resolveRegistryCredentials(sources, options);
  return { credentials: findCredentials(resolution.credentials, reference), lines: resolution.lines };
}

/** The `X-Registry-Auth` header value: base64url (padded, as Go encodes it) of the Engine's AuthConfig JSON. */
export function registryAuthHeader(credentials: RegistryCredentials): string {
  const body: Record<string, string> = {};
  if (credentials.username !== '') body.username = credentials.username;
  if (credentials.password !== '') body.password = credentials.password;
  if (credentials.serverAddress !== '') body.serveraddress = credentials.serverAddress;
  if (credentials.identityToken !== undefined && credentials.identityToken !== '') {
    body.identitytoken = credentials.identityToken;
  }
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

/** A description safe for logs: who, where, from which source; secrets replaced by `[REDACTED]`. */
export function describeCredentials(credentials: RegistryCredentials): string {
  const secret = credentials.identityToken !== undefined ? 'identity token [REDACTED]' : `password [REDACTED]`;
  const user = credentials.username === '' ? 'no username' : `username "${credentials.username}"`;
  return `${user} with ${secret} for ${credentials.registryPath} (from ${credentials.source})`;
}

/** GitLab's job-log line when credentials are used for a pull. */
export function authenticationLine(credentials: RegistryCredentials): TraceLine {
  return traceLine('plain', `Authenticating with credentials from ${credentials.source}`);
}
