// The built `runnerkit` CLI as the end-to-end suites run it: `runnerkit exec` on a checkout, `runnerkit run` as a
// long-lived process against an in-process coordinator, and what /proc says about a process (CPU, peak RSS).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT, runToFile, tail } from './peers.mjs';

export const CLI = join(REPO_ROOT, 'apps', 'runner', 'bin', 'runnerkit.js');

/** Fails early, with what to do, when the CLI is not built (`pnpm bench` builds it first). */
export function requireBuiltCli() {
  if (!existsSync(join(REPO_ROOT, 'apps', 'runner', 'dist', 'main.js')))
    throw new Error('runnerkit is not built: pnpm --filter @runnerkit/runner... build');
}

/** exec's local runner identity for a project directory: its Docker objects carry this short token as a label. */
export function execShortToken(dir) {
  return createHash('sha256').update(`runnerkit-exec:${dir}`).digest('hex').slice(0, 9);
}

/** The label filter for the Docker objects a runner with this short token created. */
export function runnerLabelFilter(shortToken) {
  return ['--filter', `label=com.gitlab.gitlab-runner.runner.id=${shortToken}`];
}

/** GitLab's short token: the first 9 characters after `glrt-` (and `t1_`…). */
export function shortTokenOf(token) {
  return token.replace(/^glrt-(t\d_)?/, '').slice(0, 9);
}

/** `runnerkit exec [jobs]` in `dir`, output into `outputFile`; throws with the output's tail when it fails. */
export async function runExec(dir, { outputFile, jobs = [], args = [], env = {}, onSpawn } = {}) {
  const { code } = await runToFile(process.execPath, [CLI, 'exec', ...args, ...jobs], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', ...env },
    outputFile,
    onSpawn,
  });
  if (code !== 0) throw new Error(`runnerkit exec exited ${code}:\n${tail(outputFile)}`);
}

/**
 * Starts `runnerkit run -c configFile` (extra node flags in `nodeArgs`, e.g. --cpu-prof); resolves once it printed
 * `Configuration loaded`. Returns { child, pid, output(), stop(signal) }; stop() resolves with the exit code.
 */
export function startRun(configFile, { env = {}, nodeArgs = [], cwd = REPO_ROOT } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'run', '-c', configFile], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk) => {
    output += chunk;
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runnerkit run did not start:\n${output}`)), 60_000);
    const check = () => {
      if (/Configuration loaded/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`runnerkit run exited ${code}:\n${output}`));
    });
  });
  return ready.then(() => ({
    child,
    pid: child.pid,
    output: () => output,
    async stop(signal = 'SIGQUIT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  }));
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process (and its waited-for children) in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return ticks / CLOCK_TICKS;
}

/** { rssMiB, peakMiB } of a process from /proc/<pid>/status (VmRSS, VmHWM). */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** Polls `probe` every `intervalMs` until it returns something other than undefined; throws after `timeoutMs`. */
export async function until(probe, { timeoutMs = 120_000, intervalMs = 50, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
