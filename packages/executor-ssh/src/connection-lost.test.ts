// A connection that drops mid-job (through a TCP relay on 127.0.0.1 in front of the real sshd) fails the job
// with runner_system_failure and a clear message; keepalive notices a silent drop; cleanup reconnects to end
// the stage's remote processes.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, connect as tcpConnect, type Socket } from 'node:net';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { job, keyOptions, remote, testContext } from './test-support/ssh.js';

const context = testContext('dropped');
const sockets = new Set<Socket>();
/** Relayed connections that swallow bytes in both directions without closing (a silent network drop). */
const frozen = new Set<Socket>();
const relay = createServer((client) => {
  const upstream = tcpConnect(context.ssh.port, context.ssh.host);
  for (const socket of [client, upstream]) {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  }
  client.on('data', (chunk) => !frozen.has(client) && upstream.write(chunk));
  upstream.on('data', (chunk) => !frozen.has(client) && client.write(chunk));
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  port = (relay.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => relay.close(resolve));
});

function relayed(extra: Parameters<typeof context.executor>[0] = {}) {
  const key = readFileSync(context.ssh.knownHosts, 'utf8').trim().split(/\s+/).slice(1).join(' ');
  return context.executor({
    ssh: { ...keyOptions(context.ssh).ssh, port: String(port) },
    knownHosts: `[127.0.0.1]:${port} ${key}\n`,
    ...extra,
  });
}

async function remaining(marker: number): Promise<string[]> {
  const out = await remote(context.ssh, `ps -u ${context.ssh.keyUser} -o args= || true`);
  return out.split('\n').filter((line) => line.includes(String(marker)));
}

/** Waits until the relay holds no connection (or gives up after 3 s) and returns how many are left. */
async function openRelayed(): Promise<number> {
  for (let waited = 0; sockets.size > 0 && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  return sockets.size;
}

describe('the connection is closed on every path', () => {
  it('after success, a failing script, a timeout, a cancel and a refused login', async () => {
    const outcomes: string[] = [];
    const record = async (pending: ReturnType<typeof runObserved>) => {
      const { result } = await pending;
      outcomes.push(
        `${result.outcome.status}${result.outcome.status === 'failed' ? `:${result.outcome.failureReason}` : ''}`,
      );
      return openRelayed();
    };
    expect(await record(runObserved(relayed(), job(['true'])))).toBe(0);
    expect(await record(runObserved(relayed(), job(['exit 4'])))).toBe(0);
    expect(await record(runObserved(relayed(), job(['sleep 30'], { runner_info: { timeout: 1 } })))).toBe(0);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 800);
    expect(await record(runObserved(relayed(), job(['sleep 30']), { abortSignal: controller.signal }))).toBe(0);
    const wrongUser = relayed({
      ssh: { ...keyOptions(context.ssh).ssh, port: String(port), user: context.ssh.passwordUser },
    });
    expect(await record(runObserved(wrongUser, job(['true'])))).toBe(0);
    expect(outcomes).toEqual([
      'success',
      'failed:script_failure',
      'failed:job_execution_timeout',
      'failed:job_canceled',
      'failed:runner_system_failure',
    ]);
  });
});

describe('a dropped connection', () => {
  it('fails the running job as runner_system_failure; cleanup ends the remote processes', async () => {
    const marker = randomInt(10_000, 99_999);
    const pending = runObserved(relayed(), job(['echo started', `sleep ${marker}`], {}, ['echo after']));
    setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, 1500);
    const { result, trace, cleanups } = await pending;
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(result.outcome.status === 'failed' && result.outcome.message).toMatch(
      new RegExp(`^the SSH connection to rk-ssh-key@127\\.0\\.0\\.1:${port} was lost`),
    );
    expect(trace).toContain('\nstarted\n');
    expect(cleanups).toBe(1);
    expect(await remaining(marker)).toEqual([]);
  });

  it('keepalive notices a silent drop', async () => {
    const marker = randomInt(10_000, 99_999);
    const pending = runObserved(
      relayed({ keepaliveIntervalMs: 300, keepaliveCountMax: 2 }),
      job(['echo started', `sleep ${marker}`]),
    );
    // connections made later (cleanup's) get through
    setTimeout(() => {
      for (const socket of sockets) frozen.add(socket);
    }, 1500);
    try {
      const { result, durationMs } = await pending;
      expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
      expect(result.outcome.status === 'failed' && result.outcome.message).toMatch(/was lost: Keepalive timeout/);
      expect(durationMs).toBeLessThan(15_000);
    } finally {
      for (const socket of frozen) socket.destroy();
      frozen.clear();
    }
    expect(await remaining(marker)).toEqual([]);
  });

  it('a server that never answers the handshake runs into the connect timeout', async () => {
    const silent = createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      const { result } = await runObserved(
        context.executor({
          ssh: { ...keyOptions(context.ssh).ssh, port: String(silentPort) },
          connectTimeoutMs: 500,
          connectAttempts: 1,
        }),
        job(['echo never']),
      );
      expect(result.outcome).toEqual({
        status: 'failed',
        failureReason: 'runner_system_failure',
        message: `cannot connect to rk-ssh-key@127.0.0.1:${silentPort}: Timed out while waiting for handshake`,
      });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('an unreachable host fails prepare after the configured attempts', async () => {
    const { result, trace, durationMs } = await runObserved(
      context.executor({ ssh: { ...keyOptions(context.ssh).ssh, port: '1' }, connectAttempts: 2 }),
      job(['echo never']),
    );
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(result.outcome.status === 'failed' && result.outcome.message).toMatch(
      /^cannot connect to rk-ssh-key@127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1$/,
    );
    expect(trace).not.toContain('never');
    expect(durationMs).toBeLessThan(10_000);
  });
});
