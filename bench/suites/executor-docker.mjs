// executor-docker: a trivial job vs `docker run --rm`, a job with two services, 10 000 files in vs `docker cp`.
// Run alone: node bench/suites/executor-docker.mjs [--quick] [--profile] [--before=<old dist/index.js>]
//   --profile  prints one trivial job's timeline: every Engine call and executor stage with start and duration
//   --before   also compares the trivial job against an older build of the executor (A/B, same process)
// (needs dockerd and the runnerkit-test images)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerClient } from '../../packages/docker-engine-client/dist/index.js';
import { createDockerExecutor, directoryTar } from '../../packages/executor-docker/dist/index.js';
import { runJob } from '../../packages/job-runtime/dist/index.js';
import { compare, quick, record } from '../lib/ab.mjs';

const BUSYBOX = 'runnerkit-test/busybox:latest';
const HTTP = 'runnerkit-test/service-http:latest';
const client = createDockerClient({ host: 'unix:///var/run/docker.sock' });
const workDir = mkdtempSync(join(tmpdir(), 'bench-executor-docker-'));
const token = `glrt-t1_bench${randomBytes(6).toString('hex')}`;
const sink = { write() {} };
const option = (name) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** A client whose Engine calls are timed into `events` ([name, start ms, duration ms]). */
function timedClient(events, origin) {
  const wrap = (target, area) =>
    new Proxy(target, {
      get(object, key) {
        const value = object[key];
        if (typeof value !== 'function') return value;
        return (...args) => {
          const start = now();
          const result = value.apply(object, args);
          if (typeof result?.then !== 'function') return result;
          return result.then((output) => {
            events.push([`${area}.${String(key)}`, start - origin(), now() - start]);
            return output;
          });
        };
      },
    });
  return new Proxy(client, {
    get(object, key) {
      const value = object[key];
      if (['containers', 'exec', 'images', 'networks', 'volumes'].includes(key)) return wrap(value, key);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/** Runs one trivial job with every Engine call and executor stage timed; prints the timeline. */
async function profile() {
  const events = [];
  let origin = 0;
  const executor = createDockerExecutor({
    client: timedClient(events, () => origin),
    runnerToken: token,
    workDir,
    docker: { pull_policy: ['if-not-present'] },
  });
  const timed =
    (name, fn) =>
    async (...args) => {
      const start = now();
      try {
        return await fn(...args);
      } finally {
        events.push([name, start - origin, now() - start]);
      }
    };
  const observed = {
    name: executor.name,
    shell: executor.shell,
    directories: executor.directories,
    environment: executor.environment,
    prepare: timed('executor prepare', executor.prepare),
    run: async (request) => timed(`executor run ${request.stage}`, executor.run)(request),
    cleanup: timed('executor cleanup', executor.cleanup),
    stages: Object.fromEntries(Object.entries(executor.stages).map(([key, fn]) => [key, timed(`stage ${key}`, fn)])),
  };
  origin = now();
  await runJob({
    payload: payload(['echo hi'], []),
    executor: observed,
    trace: sink,
    runner: { version: 'bench', revision: 'bench', token },
  });
  const total = now() - origin;
  for (const [name, start, duration] of events.sort((a, b) => a[1] - b[1]))
    process.stdout.write(`${start.toFixed(1).padStart(8)} ms  +${duration.toFixed(1).padStart(6)} ms  ${name}\n`);
  process.stdout.write(`${total.toFixed(1).padStart(8)} ms  job done\n`);
}

function payload(script, services = []) {
  return {
    id: 1,
    token: 'bench-job-token',
    job_info: { name: 'bench', stage: 'test', project_id: 1, project_name: 'bench' },
    git_info: {
      repo_url: 'https://gitlab.example.com/g/p.git',
      ref: 'main',
      sha: '0'.repeat(40),
      refspecs: [],
      depth: 0,
    },
    runner_info: { timeout: 600 },
    variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true, masked: false }],
    steps: [{ name: 'script', script, timeout: 600, when: 'on_success', allow_failure: false }],
    image: { name: BUSYBOX },
    services,
    features: { trace_sections: true },
  };
}

async function job(script, services, docker = {}, create = createDockerExecutor) {
  const executor = create({
    client,
    runnerToken: token,
    workDir,
    docker: { pull_policy: ['if-not-present'], ...docker },
  });
  const result = await runJob({
    payload: payload(script, services),
    executor,
    trace: sink,
    runner: { version: 'bench', revision: 'bench', token },
  });
  if (result.outcome.status !== 'success') throw new Error(JSON.stringify(result.outcome));
}

function docker(...args) {
  const run = spawnSync('/usr/bin/docker', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

try {
  if (process.argv.includes('--profile')) {
    for (let round = 0; round < 3; round++) await job(['echo hi'], []); // warm up
    await profile();
  }
  const before = option('before');
  if (before) {
    const old = (await import(before)).createDockerExecutor;
    await compare({
      name: 'executor-docker: trivial job, this build vs an older build',
      candidate: { name: 'this build', run: () => job(['echo hi'], []) },
      baseline: { name: before, run: () => job(['echo hi'], [], {}, old) },
    });
    await compare({
      name: 'executor-docker: trivial job, older build vs docker run --rm',
      candidate: { name: 'older build', run: () => job(['echo hi'], [], {}, old) },
      baseline: { name: 'docker run --rm', run: async () => docker('run', '--rm', BUSYBOX, 'sh', '-c', 'echo hi') },
      goal: 1.5,
    });
  }
  await compare({
    name: 'executor-docker: trivial job (busybox, echo hi) vs docker run --rm',
    candidate: { name: 'executor', run: () => job(['echo hi'], []) },
    baseline: { name: 'docker run --rm', run: async () => docker('run', '--rm', BUSYBOX, 'sh', '-c', 'echo hi') },
    goal: 1.5,
  });

  const services = [
    { name: HTTP, alias: 'web' },
    { name: HTTP, alias: 'cache' },
  ];
  await compare({
    name: 'executor-docker: job with two services vs trivial job',
    candidate: { name: 'two services', run: () => job(['echo ping | nc -w 3 cache 6379'], services) },
    baseline: { name: 'no services', run: () => job(['echo hi'], []) },
    rounds: quick ? 3 : 5,
  });

  const tree = join(workDir, 'tree');
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(tree, `dir${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(tree, `dir${d}`, `file${f}.txt`), `content ${d} ${f}\n`.repeat(8));
  }
  const target = await client.containers.create({
    Image: BUSYBOX,
    Cmd: ['true'],
    Labels: { 'runnerkit.bench': 'executor-docker' },
  });
  try {
    await compare({
      name: 'executor-docker: 10 000-file tree into a container (archive API) vs docker cp',
      candidate: {
        name: 'directoryTar + PUT archive',
        run: () => client.containers.putArchive(target.Id, '/', directoryTar({ hostDir: tree, target: '/builds/a' })),
      },
      baseline: { name: 'docker cp', run: async () => docker('cp', `${tree}/.`, `${target.Id}:/builds/b`) },
      rounds: quick ? 3 : 7,
    });
  } finally {
    await client.containers.remove(target.Id, { force: true, volumes: true });
  }
  record({
    name: 'executor-docker: done',
    note: `labelled leftovers: ${
      execFileSync('/usr/bin/docker', [
        'ps',
        '-aq',
        '--filter',
        `label=com.gitlab.gitlab-runner.runner.id=${token.slice(8, 17)}`,
      ])
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean).length
    }`,
  });
} finally {
  rmSync(workDir, { recursive: true, force: true });
  await client.close();
}
