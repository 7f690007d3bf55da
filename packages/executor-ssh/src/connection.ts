// One SSH connection (ssh2) with GitLab Runner's [runners.ssh] semantics: password and/or key auth, known_hosts
// checking unless disabled, connect attempts, keepalive; commands as exec channels; a dropped connection fails
// every pending command with SSH_EXECUTOR_CONNECTION_LOST.
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { SshConfig } from '@runnerkit/config-schema';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { SshConfigurationError, SshExecutorError, errorMessage } from './errors.js';
import { checkHostKey, describeHostKey, type HostKeyVerdict, knownHostName } from './known-hosts.js';

const { Client, utils } = ssh2;

/** What a connection needs, resolved from the executor options. */
export interface ConnectionSettings {
  ssh: SshConfig;
  identity?: string | Buffer | undefined;
  knownHosts?: string | undefined;
  connectTimeoutMs?: number | undefined;
  connectAttempts?: number | undefined;
  connectRetryDelayMs?: number | undefined;
  keepaliveIntervalMs?: number | undefined;
  keepaliveCountMax?: number | undefined;
}

export interface Target {
  host: string;
  port: number;
  user: string;
}

/** GitLab Runner's defaults: host `localhost`, port `22`, user `root`. */
export function targetOf(ssh: SshConfig): Target {
  const portText = (ssh.port ?? '').trim() || '22';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new SshConfigurationError(`[runners.ssh] port ${JSON.stringify(ssh.port)} is not a TCP port number`);
  return { host: ssh.host?.trim() || 'localhost', port, user: ssh.user?.trim() || 'root' };
}

/** Parses the identity (contents, or the identity_file path read now) and refuses encrypted keys clearly. */
export async function loadIdentity(settings: ConnectionSettings): Promise<Buffer | undefined> {
  let contents: Buffer | undefined;
  let source = 'the identity given to the executor';
  if (settings.identity !== undefined && settings.identity !== '') contents = Buffer.from(settings.identity);
  else if (settings.ssh.identity_file) {
    source = `identity_file ${settings.ssh.identity_file}`;
    try {
      contents = await readFile(settings.ssh.identity_file);
    } catch (error) {
      throw new SshConfigurationError(`cannot read ${source}: ${errorMessage(error)}`, 'SSH_EXECUTOR_KEY_INVALID', {
        cause: error,
      });
    }
  }
  if (contents === undefined) return undefined;
  const parsed = utils.parseKey(contents);
  if (parsed instanceof Error) {
    if (/encrypted|passphrase/i.test(parsed.message))
      throw new SshConfigurationError(
        `${source} is an encrypted private key: the SSH executor needs an unencrypted key (as GitLab Runner); remove the passphrase with ssh-keygen -p -N '' -f <file>`,
        'SSH_EXECUTOR_KEY_ENCRYPTED',
        { cause: parsed },
      );
    throw new SshConfigurationError(
      `${source} is not a usable private key: ${parsed.message}`,
      'SSH_EXECUTOR_KEY_INVALID',
      {
        cause: parsed,
      },
    );
  }
  return contents;
}

async function loadKnownHosts(settings: ConnectionSettings, target: Target): Promise<string | undefined> {
  if (settings.ssh.disable_strict_host_key_checking === true) return undefined;
  if (settings.knownHosts !== undefined) return settings.knownHosts;
  if (settings.ssh.known_hosts_file) {
    try {
      return await readFile(settings.ssh.known_hosts_file, 'utf8');
    } catch (error) {
      throw new SshConfigurationError(
        `cannot read known_hosts_file ${settings.ssh.known_hosts_file}: ${errorMessage(error)}`,
        'SSH_EXECUTOR_KNOWN_HOSTS_MISSING',
        { cause: error },
      );
    }
  }
  throw new SshConfigurationError(
    `strict host key checking is on but no known_hosts was given to check ${knownHostName(target.host, target.port)} against: set [runners.ssh] known_hosts_file, or disable_strict_host_key_checking = true`,
    'SSH_EXECUTOR_KNOWN_HOSTS_MISSING',
  );
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export interface ExecOptions {
  /** Written to the command's stdin, then closed. Absent: stdin is closed at once. */
  stdin?: string | Buffer | Readable | undefined;
  /** Receives stdout (piped with backpressure when a Writable). */
  stdout?: Writable | ((chunk: Buffer) => void) | undefined;
  stderr?: ((chunk: Buffer) => void) | undefined;
  /** Called once the channel is open (to signal or close it). */
  onChannel?: ((channel: ClientChannel) => void) | undefined;
}

export interface ExecResult {
  /** Exit status; 128 + signal number when the process was killed; -1 when the server reported neither. */
  exitCode: number;
  signal?: string | undefined;
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, ALRM: 14, TERM: 15 };

/** An open SSH connection. `close()` is idempotent. */
export class SshConnection {
  readonly target: Target;
  private readonly client: InstanceType<typeof Client>;
  private closing = false;
  private lostError: SshExecutorError | undefined;
  private readonly pending = new Set<(error: SshExecutorError) => void>();
  private readonly closed: Promise<void>;

  private constructor(client: InstanceType<typeof Client>, target: Target) {
    this.client = client;
    this.target = target;
    this.closed = new Promise((resolve) => client.once('close', () => resolve()));
    const onDrop = (error?: Error) => {
      if (this.closing || this.lostError) return;
      this.lostError = new SshExecutorError(
        'SSH_EXECUTOR_CONNECTION_LOST',
        `the SSH connection to ${this.where} was lost${error ? `: ${error.message}` : ''}`,
        'runner_system_failure',
        { cause: error },
      );
      for (const fail of this.pending) fail(this.lostError);
      this.pending.clear();
    };
    client.on('error', (error: Error) => onDrop(error));
    client.on('close', () => onDrop());
    client.on('end', () => onDrop());
  }

  get where(): string {
    return `${this.target.user}@${this.target.host}:${this.target.port}`;
  }

  /** Set once the connection dropped without `close()`. */
  get lost(): SshExecutorError | undefined {
    return this.lostError;
  }

  /** Connects (with attempts), authenticates and checks the host key. */
  static async open(settings: ConnectionSettings, signal?: AbortSignal): Promise<SshConnection> {
    const target = targetOf(settings.ssh);
    const privateKey = await loadIdentity(settings);
    const knownHosts = await loadKnownHosts(settings, target);
    const password = settings.ssh.password || undefined;
    if (!privateKey && password === undefined)
      throw new SshConfigurationError(
        '[runners.ssh] has neither password nor identity_file: the SSH executor needs one of them to log in',
      );
    const attempts = Math.max(1, settings.connectAttempts ?? 3);
    let last: SshExecutorError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal?.aborted) throw signal.reason;
      try {
        return await SshConnection.attempt(settings, target, privateKey, password, knownHosts, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!(error instanceof SshExecutorError) || error.executorCode !== 'SSH_EXECUTOR_CONNECT') throw error;
        last = error;
        if (attempt < attempts) await delay(settings.connectRetryDelayMs ?? 3000, signal);
      }
    }
    throw last!;
  }

  private static attempt(
    settings: ConnectionSettings,
    target: Target,
    privateKey: Buffer | undefined,
    password: string | undefined,
    knownHosts: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<SshConnection> {
    const where = `${target.user}@${target.host}:${target.port}`;
    return new Promise<SshConnection>((resolve, reject) => {
      const client = new Client();
      let verdict: { result: HostKeyVerdict; key: Buffer } | undefined;
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: settings.connectTimeoutMs ?? 30_000,
        keepaliveInterval: settings.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: settings.keepaliveCountMax ?? 3,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          if (knownHosts === undefined) return true;
          verdict = { result: checkHostKey(knownHosts, target.host, target.port, key), key };
          return verdict.result === 'match';
        },
      };
      if (privateKey) config.privateKey = privateKey;
      if (password !== undefined) config.password = password;
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        client.end();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(new SshConnection(client, target));
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        client.end();
        reject(SshConnection.classify(error, where, target, verdict));
      });
      client.once('close', () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(
          new SshExecutorError('SSH_EXECUTOR_CONNECT', `cannot connect to ${where}: the server closed the connection`),
        );
      });
      try {
        client.connect(config);
      } catch (error) {
        settled = true;
        reject(new SshExecutorError('SSH_EXECUTOR_CONNECT', `cannot connect to ${where}: ${errorMessage(error)}`));
      }
    });
  }

  private static classify(
    error: Error & { level?: string },
    where: string,
    target: Target,
    verdict: { result: HostKeyVerdict; key: Buffer } | undefined,
  ): SshExecutorError {
    const name = knownHostName(target.host, target.port);
    if (verdict && verdict.result !== 'match') {
      const key = describeHostKey(verdict.key);
      if (verdict.result === 'unknown')
        return new SshExecutorError(
          'SSH_EXECUTOR_HOST_KEY_UNKNOWN',
          `host key verification failed for ${where}: ${name} (${key}) is not in known_hosts; add its key (ssh-keyscan -p ${target.port} ${target.host}) or set disable_strict_host_key_checking = true`,
          'runner_system_failure',
          { cause: error },
        );
      if (verdict.result === 'revoked')
        return new SshExecutorError(
          'SSH_EXECUTOR_HOST_KEY_REVOKED',
          `host key verification failed for ${where}: the key ${key} is marked @revoked in known_hosts`,
          'runner_system_failure',
          { cause: error },
        );
      return new SshExecutorError(
        'SSH_EXECUTOR_HOST_KEY_MISMATCH',
        `host key verification failed for ${where}: the server offered ${key}, which differs from the key known_hosts has for ${name} (the host key changed, or someone is intercepting the connection)`,
        'runner_system_failure',
        { cause: error },
      );
    }
    if (error.level === 'client-authentication')
      return new SshExecutorError(
        'SSH_EXECUTOR_AUTHENTICATION',
        `authentication as ${target.user} on ${target.host}:${target.port} failed: the server refused the configured password and identity_file`,
        'runner_system_failure',
        { cause: error },
      );
    return new SshExecutorError('SSH_EXECUTOR_CONNECT', `cannot connect to ${where}: ${error.message}`, undefined, {
      cause: error,
    });
  }

  /** Runs `command` on the remote host (through the user's login shell, as sshd does) and waits for it. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      if (this.lostError) return reject(this.lostError);
      if (this.closing)
        return reject(new SshExecutorError('SSH_EXECUTOR_COMMAND', `the SSH connection to ${this.where} is closed`));
      let settled = false;
      const fail = (error: SshExecutorError) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      this.pending.add(fail);
      const done = (result: ExecResult) => {
        this.pending.delete(fail);
        if (settled) return;
        settled = true;
        resolve(result);
      };
      try {
        this.client.exec(command, (error, channel) => {
          if (error) {
            this.pending.delete(fail);
            return fail(
              this.lostError ??
                new SshExecutorError(
                  'SSH_EXECUTOR_COMMAND',
                  `cannot start a command over SSH on ${this.where}: ${error.message}`,
                  'runner_system_failure',
                  { cause: error },
                ),
            );
          }
          let exit: ExecResult = { exitCode: -1 };
          channel.on('exit', (code: number | null, signalName?: string) => {
            if (typeof code === 'number') exit = { exitCode: code };
            else if (signalName) exit = { exitCode: 128 + (SIGNALS[signalName] ?? 0), signal: signalName };
          });
          channel.on('close', () => {
            if (this.lostError) {
              this.pending.delete(fail);
              return fail(this.lostError);
            }
            done(exit);
          });
          channel.on('error', () => {}); // surfaced through 'close' and the connection's own events
          const { stdout, stderr } = options;
          if (typeof stdout === 'function') channel.on('data', (chunk: Buffer) => stdout(chunk));
          else if (stdout) channel.pipe(stdout);
          else channel.resume();
          if (stderr) channel.stderr.on('data', (chunk: Buffer) => stderr(chunk));
          else channel.stderr.resume();
          options.onChannel?.(channel);
          const input = options.stdin;
          if (input === undefined) channel.end();
          else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input);
          else {
            input.on('error', () => channel.close());
            input.pipe(channel);
          }
        });
      } catch (error) {
        this.pending.delete(fail);
        fail(
          new SshExecutorError(
            'SSH_EXECUTOR_COMMAND',
            `cannot start a command over SSH: ${errorMessage(error)}`,
            undefined,
            {
              cause: error,
            },
          ),
        );
      }
    });
  }

  /** Runs a short command and returns its stdout (stderr in the error when it fails). */
  async capture(command: string): Promise<string> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const result = await this.exec(command, { stdout: (chunk) => out.push(chunk), stderr: (chunk) => err.push(chunk) });
    if (result.exitCode !== 0)
      throw new SshExecutorError(
        'SSH_EXECUTOR_COMMAND',
        `remote command failed with exit code ${result.exitCode}: ${Buffer.concat(err).toString().trim().slice(0, 500)}`,
      );
    return Buffer.concat(out).toString();
  }

  /** Ends the connection and waits (briefly) until it is closed. Idempotent. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      try {
        this.client.end();
      } catch {
        // already gone
      }
    }
    await Promise.race([this.closed, delay(2000)]);
    this.client.destroy?.();
  }
}

/** A POSIX single-quoted word for remote commands. */
export function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
