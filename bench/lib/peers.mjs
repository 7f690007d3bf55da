// The peers runnerkit is measured against, installed by `scripts/peers up` (see /work/shared/spec/peers.md), and the
// few helpers the end-to-end suites share: a throwaway git checkout, Docker calls through Debian's CLI, and
// gitlab-ci-local run the way it works here (Node 22, local helper and wait images, no GCL* variables, output to a
// file: with its stdout on a pipe it loses parts of long logs).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOCKER = '/usr/bin/docker';
const STATE = join(REPO_ROOT, '.test-components', 'peers', 'peers.json');

/** Runs the Docker CLI (Debian's, which matches the daemon's API) and returns its trimmed stdout. */
export function docker(...args) {
  const run = spawnSync(DOCKER, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`docker ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

/** Async `docker …` for timed baselines (the event loop stays free, as for the candidate). */
export function dockerAsync(args, { stdout = 'ignore' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER, args, { stdio: ['ignore', stdout, 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

let cached;
/**
 * Where the peers are: { node, gitlabCiLocal, gitlabCiLocalVersion, helperImage, waitImage, docker }.
 * Runs `scripts/peers up` (idempotent, about 20 s the first time) when they are not installed yet.
 */
export function peers() {
  if (cached) return cached;
  const ready = () =>
    existsSync(STATE) &&
    spawnSync(join(REPO_ROOT, 'scripts', 'peers'), ['status'], { stdio: 'ignore', cwd: REPO_ROOT }).status === 0;
  if (!ready()) {
    const up = spawnSync(join(REPO_ROOT, 'scripts', 'peers'), ['up'], { stdio: 'inherit', cwd: REPO_ROOT });
    if (up.status !== 0) throw new Error('scripts/peers up failed');
  }
  cached = JSON.parse(readFileSync(STATE, 'utf8'));
  return cached;
}

/**
 * A temporary git checkout holding `files` in one commit on `main`, with an `origin` remote whose HEAD is set
 * (gitlab-ci-local reads both for its predefined variables; nothing is ever fetched from it).
 * Returns { parent, dir, remove() }; `parent` is a scratch directory beside the checkout for output files.
 */
export function gitCheckout(name, files) {
  const parent = mkdtempSync(join(tmpdir(), `rk-bench-${name}-`));
  const dir = join(parent, name);
  mkdirSync(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '--initial-branch=main');
  // gitlab-ci-local keeps its state in .gitlab-ci-local/; keep it out of runnerkit exec's snapshot too.
  writeFileSync(join(dir, '.gitignore'), '.gitlab-ci-local/\n');
  git('add', '.');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-qm', 'bench');
  git('remote', 'add', 'origin', `http://127.0.0.1:8929/bench/${name}.git`);
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  return { parent, dir, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/** The environment without GCL* variables (gitlab-ci-local reads every one of them as an option). */
export function environmentWithoutGcl(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GCL')) env[key] = value;
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** Spawns `command args` with stdout+stderr into `outputFile`; resolves { code, pid } once it exited. */
export function runToFile(command, args, { cwd, env, outputFile, onSpawn }) {
  return new Promise((resolve, reject) => {
    const fd = openSync(outputFile, 'w');
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? signal, pid: child.pid }));
  });
}

/**
 * Runs gitlab-ci-local on the checkout `dir` (every job, or `jobs`), output into `outputFile`.
 * Throws when it exits non-zero, with the tail of its output.
 */
export async function runGitlabCiLocal(dir, { outputFile, jobs = [], args = [], onSpawn } = {}) {
  const peer = peers();
  const file = outputFile ?? join(dirname(dir), 'gitlab-ci-local.log');
  const { code } = await runToFile(
    peer.node,
    [
      peer.gitlabCiLocal, // runs in `dir` (its --cwd takes relative paths only)
      '--helper-image',
      peer.helperImage,
      '--wait-image',
      peer.waitImage,
      '--container-executable',
      peer.docker,
      '--pull-policy',
      'if-not-present',
      ...args,
      ...jobs,
    ],
    { cwd: dir, env: environmentWithoutGcl(), outputFile: file, onSpawn },
  );
  if (code !== 0) throw new Error(`gitlab-ci-local exited ${code}:\n${tail(file)}`);
  return { outputFile: file };
}

/** The last lines of a file, for error messages. */
export function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Docker objects (containers, networks, volumes) matching `filterArgs`: what a run left behind. */
export function dockerLeftovers(filterArgs) {
  const lines = (text) => text.split('\n').filter(Boolean);
  return {
    containers: lines(docker('ps', '-aq', ...filterArgs)),
    networks: lines(docker('network', 'ls', '-q', ...filterArgs)),
    volumes: lines(docker('volume', 'ls', '-q', ...filterArgs)),
  };
}

/** Removes the containers, networks and volumes matching `filterArgs` (e.g. ['--filter', 'label=k=v']). */
export function removeDockerObjects(filterArgs) {
  const left = dockerLeftovers(filterArgs);
  if (left.containers.length) spawnSync(DOCKER, ['rm', '-f', '-v', ...left.containers], { stdio: 'ignore' });
  if (left.networks.length) spawnSync(DOCKER, ['network', 'rm', ...left.networks], { stdio: 'ignore' });
  if (left.volumes.length) spawnSync(DOCKER, ['volume', 'rm', '-f', ...left.volumes], { stdio: 'ignore' });
  return left;
}
