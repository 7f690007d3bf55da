// A second, isolated dockerd started by the test itself (test-components.md §1b): its own socket, data and exec
// roots and its own bridge rkbr1 (never --bridge=none, which deletes docker0 and breaks the shared daemon).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOCKER } from './runner.js';

const run = promisify(execFile);

export const SECOND_SOCKET = '/var/run/docker-2.sock';
export const SECOND_HOST = `unix://${SECOND_SOCKET}`;
const BRIDGE = 'rkbr1';

async function answers(): Promise<boolean> {
  try {
    await run(DOCKER, ['-H', SECOND_HOST, 'version'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface SecondDaemon {
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the daemon, or returns undefined (and starts nothing) when something already answers on its socket. */
export async function startSecondDaemon(): Promise<SecondDaemon | undefined> {
  if (existsSync(SECOND_SOCKET) && (await answers())) return undefined;
  let createdBridge = false;
  try {
    await run('ip', ['link', 'show', BRIDGE]);
  } catch {
    await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await run('ip', ['addr', 'add', '172.31.254.1/24', 'dev', BRIDGE]);
    await run('ip', ['link', 'set', BRIDGE, 'up']);
    createdBridge = true;
  }
  const log = join(tmpdir(), 'runnerkit-reliability-dockerd-2.log');
  let child: ChildProcess | undefined;
  const launch = async () => {
    const out = await open(log, 'a');
    child = spawn(
      '/usr/sbin/dockerd',
      [
        '-H',
        SECOND_HOST,
        '--pidfile',
        '/var/run/docker-2.pid',
        '--data-root',
        '/var/lib/docker-2',
        '--exec-root',
        '/var/run/docker-2',
        '--bridge',
        BRIDGE,
        '--iptables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', out.fd, out.fd] },
    );
    await out.close();
    await waitFor(answers, 60_000, `the second dockerd (log: ${log})`);
  };
  const halt = async () => {
    const current = child;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      if (createdBridge) await run('ip', ['link', 'del', BRIDGE]).catch(() => undefined);
    },
  };
}

/** Copies an image from the shared daemon into the second one. */
export async function copyImage(image: string): Promise<void> {
  await run('sh', ['-c', `${DOCKER} save '${image}' | ${DOCKER} -H ${SECOND_HOST} load`], {
    maxBuffer: 16 * 1024 * 1024,
  });
}
