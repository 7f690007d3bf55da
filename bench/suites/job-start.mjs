// job-start: a trivial busybox job (`echo hi`) from start to finish, through `runnerkit exec` (a whole CLI run:
// snapshot, embedded coordinator, clone, container) and through a running `runnerkit run` fed by the coordinator
// (POST /-/pipelines → job success), against `docker run --rm busybox echo hi`. Goal: ≤ 1.5× docker run.
//
// `runnerkit run` is measured twice, each with its own coordinator and runner process (check_interval 3 s):
//   run + coordinator:                no long polling: a new job waits for the runner's next request (on average
//                                     half a check_interval);
//   run + coordinator (long polling): Workhorse-style long polling (30 s, as a realistic GitLab has it on): the
//                                     held request is answered 204 when the pipeline is created and the runner
//                                     asks again at once.
//
// Each timed run is also split into phases from the runner's own JSON log lines (same clock):
//   exec: start → job received (CLI start-up, snapshot, embedded coordinator, compile, request)
//         → job end (acknowledge, executor stages, trace, final update) → process exit
//   run:  pipeline created → job received (the runner's request) → job success seen
// plus the CLI's module loading alone (`runnerkit exec --help`).
//
// Run: node bench/suites/job-start.mjs [--quick]   (needs a build of apps/runner, dockerd and the local images)
//   RUNNERKIT_BENCH_BEFORE_CLI=/path/to/older/dist/main.js adds exec before-vs-after rounds (A/B alternating).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { compare, quick, record, summarize } from '../lib/ab.mjs';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../apps/runner/bin/runnerkit.js', import.meta.url));
const BEFORE = process.env.RUNNERKIT_BENCH_BEFORE_CLI;
const IMAGE = 'runnerkit-test/busybox:latest';
const YAML = `hi:\n  image: ${IMAGE}\n  script:\n    - echo hi\n`;

const work = mkdtempSync(join(tmpdir(), 'runnerkit-bench-job-start-'));
const env = { ...process.env, XDG_CACHE_HOME: join(work, 'cache-home'), NO_COLOR: '1' };
const project = join(work, 'project');
mkdirSync(project);
writeFileSync(join(project, '.gitlab-ci.yml'), YAML);
const git = (...args) => run('git', args, { cwd: project });
await git('init', '-q', '--initial-branch=main');
await git('add', '.');
await git('-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-qm', 'bench');

/** Collected phase durations (ms) by label, printed as median [p25–p75] at the end. */
const phases = new Map();
function phase(label, ms) {
  if (!phases.has(label)) phases.set(label, []);
  phases.get(label).push(ms);
}
/** The time (ms since the epoch) of the first JSON log line whose msg is `message`. */
function logTime(text, message) {
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line);
    if (entry.msg === message) return Date.parse(entry.time);
  }
  return undefined;
}

const dockerRun = {
  name: 'docker run --rm',
  run: () => run('/usr/bin/docker', ['run', '--rm', IMAGE, 'echo', 'hi']),
};

function execCandidate(name, cli) {
  return {
    name,
    run: async () => {
      const started = Date.now();
      const result = await run(
        process.execPath,
        [cli, '--log-level', 'info', '--log-format', 'json', 'exec', '--cwd', project],
        { env },
      );
      const exited = Date.now();
      if (!/^hi +\| hi$/m.test(result.stdout)) throw new Error(`unexpected exec output:\n${result.stdout}`);
      const received = logTime(result.stderr, 'Checking for jobs... received');
      const ended = logTime(result.stderr, 'Job succeeded');
      if (received && ended) {
        phase(`${name}: start → job received`, received - started);
        phase(`${name}: job received → job end`, ended - received);
        phase(`${name}: job end → exit`, exited - ended);
      }
      phase(`${name}: total`, exited - started);
    },
  };
}

async function moduleLoading(name, cli) {
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    const started = Date.now();
    await run(process.execPath, [cli, 'exec', '--help'], { env });
    phase(`${name}: exec --help (node + modules)`, Date.now() - started);
    const root = Date.now();
    await run(process.execPath, [cli, '--help'], { env });
    phase(`${name}: --help`, Date.now() - root);
  }
}

/** A coordinator and a `runnerkit run` process polling it (check_interval 3 s, concurrent 4). */
async function startRun(label, longPollingSeconds) {
  const coordinator = await createCoordinator({ longPollingSeconds });
  const runner = coordinator.createRunner({ description: `bench ${label}` });
  const config = join(work, `config-${label}.toml`);
  writeFileSync(
    config,
    `concurrent = 4\ncheck_interval = 3\n\n[[runners]]\n  name = "bench-${label}"\n  url = "${coordinator.url}"\n  token = "${runner.token}"\n  executor = "docker"\n  [runners.docker]\n    pull_policy = ["if-not-present"]\n    volumes = ["/cache"]\n`,
  );
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', 'run', '-c', config], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const started = { label, coordinator, runner, child, log: '' };
  child.stderr.on('data', (chunk) => {
    started.log += chunk;
  });
  return started;
}

const runs = [await startRun('plain', 0), await startRun('long-polling', 30)];
await new Promise((resolve) => setTimeout(resolve, 1500));

async function pipelineJob(target, name) {
  const { coordinator } = target;
  const started = Date.now();
  const logFrom = target.log.length;
  const response = await fetch(`${coordinator.url}/-/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ yaml: YAML, project_dir: project }),
  });
  const created = await response.json();
  const id = created.jobs[0].id;
  for (;;) {
    const job = coordinator.job(id);
    if (job.status === 'success') break;
    if (['failed', 'canceled'].includes(job.status)) throw new Error(`job failed:\n${job.trace}\n${target.log}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const done = Date.now();
  const received = logTime(target.log.slice(logFrom), 'Checking for jobs... received');
  if (received) {
    phase(`${name}: pipeline created → job received`, received - started);
    phase(`${name}: job received → success seen`, done - received);
  }
}

try {
  await moduleLoading('after', CLI);
  if (BEFORE) await moduleLoading('before', BEFORE);
  await compare({
    name: 'job-start: runnerkit exec vs docker run --rm',
    candidate: execCandidate('runnerkit exec', CLI),
    baseline: dockerRun,
    goal: 1.5,
  });
  if (BEFORE) {
    await compare({
      name: 'job-start: runnerkit exec, this build vs the older build',
      candidate: execCandidate('exec after', CLI),
      baseline: execCandidate('exec before', BEFORE),
    });
  }
  await compare({
    name: 'job-start: runnerkit run + coordinator vs docker run --rm',
    candidate: { name: 'runnerkit run', run: () => pipelineJob(runs[0], 'runnerkit run') },
    baseline: dockerRun,
    goal: 1.5,
    rounds: quick ? 3 : 11,
  });
  await compare({
    name: 'job-start: runnerkit run + coordinator (long polling) vs docker run --rm',
    candidate: {
      name: 'runnerkit run (long polling)',
      run: () => pipelineJob(runs[1], 'runnerkit run (long polling)'),
    },
    baseline: dockerRun,
    goal: 1.5,
    rounds: quick ? 3 : 11,
  });
  for (const [label, values] of phases) {
    const { median, p25, p75, n } = summarize(values);
    record({
      name: `job-start phase: ${label}`,
      note: `median ${median.toFixed(0)} ms [${p25.toFixed(0)}–${p75.toFixed(0)}] n=${n}`,
      phase: { label, median, p25, p75, n },
    });
  }
} finally {
  for (const { child, coordinator } of runs) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    }
    await coordinator.close();
  }
  // exec's local runner and the run runners each keep their builds/cache volumes (their caches): remove them
  const execShort = createHash('sha256').update(`runnerkit-exec:${project}`).digest('hex').slice(0, 9);
  const runShorts = runs.map(({ runner }) => runner.token.replace(/^glrt-(t\d_)?/, '').slice(0, 9));
  for (const token of [execShort, ...runShorts]) {
    const filter = `label=com.gitlab.gitlab-runner.runner.id=${token}`;
    const { stdout } = await run('/usr/bin/docker', ['volume', 'ls', '-q', '--filter', filter]);
    for (const volume of stdout.split('\n').filter(Boolean))
      await run('/usr/bin/docker', ['volume', 'rm', '-f', volume]);
  }
  rmSync(work, { recursive: true, force: true });
}
