// throughput: 40 trivial busybox jobs (one pipeline, `parallel: 40`) through one `runnerkit run` with
// concurrent = 4 and the Docker executor: jobs per minute, the runner process's CPU seconds per job (its own and
// its waited-for children's, i.e. git), and its peak RSS.
// Run: node bench/suites/throughput.mjs [--quick]   (needs a build of apps/runner, dockerd and the local images)
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { quick, record } from '../lib/ab.mjs';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../apps/runner/bin/runnerkit.js', import.meta.url));
const JOBS = quick ? 12 : 40;
const YAML = `hi:\n  image: runnerkit-test/busybox:latest\n  parallel: ${JOBS}\n  script:\n    - echo hi\n`;
const TICKS = 100; // USER_HZ on Linux

const work = mkdtempSync(join(tmpdir(), 'runnerkit-bench-throughput-'));
const project = join(work, 'project');
mkdirSync(project);
writeFileSync(join(project, '.gitlab-ci.yml'), YAML);
const git = (...args) => run('git', args, { cwd: project });
await git('init', '-q', '--initial-branch=main');
await git('add', '.');
await git('-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-qm', 'bench');

const coordinator = await createCoordinator();
const runner = coordinator.createRunner({ description: 'bench' });
const config = join(work, 'config.toml');
writeFileSync(
  config,
  `concurrent = 4\ncheck_interval = 3\n\n[[runners]]\n  name = "bench"\n  url = "${coordinator.url}"\n  token = "${runner.token}"\n  executor = "docker"\n  [runners.docker]\n    pull_policy = ["if-not-present"]\n`,
);
const child = spawn(process.execPath, [CLI, 'run', '-c', config], {
  env: { ...process.env, XDG_CACHE_HOME: join(work, 'cache-home') },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let log = '';
child.stderr.on('data', (chunk) => {
  log += chunk;
});
await new Promise((resolve) => setTimeout(resolve, 1500));

/** utime+stime+cutime+cstime of the runner process, in seconds. */
function cpuSeconds() {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0) / TICKS;
}
function peakRssMiB() {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

try {
  const cpuBefore = cpuSeconds();
  const started = Date.now();
  const response = await fetch(`${coordinator.url}/-/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ yaml: YAML, project_dir: project }),
  });
  const created = await response.json();
  const ids = created.jobs.map((job) => job.id);
  for (;;) {
    const jobs = ids.map((id) => coordinator.job(id));
    const failed = jobs.find((job) => ['failed', 'canceled'].includes(job.status));
    if (failed) throw new Error(`job ${failed.id} ${failed.status}:\n${failed.trace}\n${log}`);
    if (jobs.every((job) => job.status === 'success')) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (Date.now() - started) / 1000;
  const cpu = cpuSeconds() - cpuBefore;
  record({
    name: `throughput: ${JOBS} busybox jobs, concurrent = 4, one runnerkit run`,
    jobsPerMinute: (JOBS / seconds) * 60,
    wallSeconds: seconds,
    runnerCpuSecondsPerJob: cpu / JOBS,
    peakRssMiB: peakRssMiB(),
    note: `${((JOBS / seconds) * 60).toFixed(1)} jobs/min, ${(cpu / JOBS).toFixed(3)} runner CPU s/job, peak RSS ${peakRssMiB().toFixed(0)} MiB (${seconds.toFixed(1)} s wall)`,
  });
} finally {
  child.kill('SIGQUIT');
  await new Promise((resolve) => child.on('exit', resolve));
  await coordinator.close();
  const short = runner.token.replace(/^glrt-(t\d_)?/, '').slice(0, 9);
  const filter = `label=com.gitlab.gitlab-runner.runner.id=${short}`;
  const { stdout } = await run('/usr/bin/docker', ['volume', 'ls', '-q', '--filter', filter]);
  for (const volume of stdout.split('\n').filter(Boolean)) await run('/usr/bin/docker', ['volume', 'rm', '-f', volume]);
  rmSync(work, { recursive: true, force: true });
}
