// job-start: a trivial busybox job (`echo hi`) from start to finish, through `runnerkit exec` (a whole CLI run:
// snapshot, embedded coordinator, clone, container) and through a running `runnerkit run` fed by the coordinator
// (POST /-/pipelines → job success), against `docker run --rm busybox echo hi`. Goal: ≤ 1.5× docker run.
// Run: node bench/suites/job-start.mjs [--quick]   (needs a build of apps/runner, dockerd and the local images)
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { compare, quick } from '../lib/ab.mjs';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../apps/runner/bin/runnerkit.js', import.meta.url));
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

const dockerRun = {
  name: 'docker run --rm',
  run: () => run('/usr/bin/docker', ['run', '--rm', IMAGE, 'echo', 'hi']),
};

const exec = {
  name: 'runnerkit exec',
  run: async () => {
    const result = await run(process.execPath, [CLI, 'exec', '--cwd', project], { env });
    if (!/^hi +\| hi$/m.test(result.stdout)) throw new Error(`unexpected exec output:\n${result.stdout}`);
  },
};

// `runnerkit run` with the coordinator's long polling: a job is handed out as soon as it is created.
const coordinator = await createCoordinator({ longPollingSeconds: 30 });
const runner = coordinator.createRunner({ description: 'bench' });
const config = join(work, 'config.toml');
writeFileSync(
  config,
  `concurrent = 4\ncheck_interval = 3\n\n[[runners]]\n  name = "bench"\n  url = "${coordinator.url}"\n  token = "${runner.token}"\n  executor = "docker"\n  [runners.docker]\n    pull_policy = ["if-not-present"]\n    volumes = ["/cache"]\n`,
);
const runnerProcess = spawn(process.execPath, [CLI, 'run', '-c', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
let runnerLog = '';
runnerProcess.stderr.on('data', (chunk) => {
  runnerLog += chunk;
});
await new Promise((resolve) => setTimeout(resolve, 1500));

async function pipelineJob() {
  const response = await fetch(`${coordinator.url}/-/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ yaml: YAML, project_dir: project }),
  });
  const created = await response.json();
  const id = created.jobs[0].id;
  for (;;) {
    const job = coordinator.job(id);
    if (job.status === 'success') return;
    if (['failed', 'canceled'].includes(job.status)) throw new Error(`job failed:\n${job.trace}\n${runnerLog}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  await compare({
    name: 'job-start: runnerkit exec vs docker run --rm',
    candidate: exec,
    baseline: dockerRun,
    goal: 1.5,
  });
  await compare({
    name: 'job-start: runnerkit run + coordinator vs docker run --rm',
    candidate: { name: 'runnerkit run', run: pipelineJob },
    baseline: dockerRun,
    goal: 1.5,
    rounds: quick ? 3 : 11,
  });
} finally {
  runnerProcess.kill('SIGQUIT');
  await new Promise((resolve) => runnerProcess.on('exit', resolve));
  await coordinator.close();
  // exec's local runner and the run runner each keep their builds/cache volumes (their caches): remove them
  const execShort = createHash('sha256').update(`runnerkit-exec:${project}`).digest('hex').slice(0, 9);
  for (const token of [execShort, runner.token.replace(/^glrt-(t\d_)?/, '').slice(0, 9)]) {
    const filter = `label=com.gitlab.gitlab-runner.runner.id=${token}`;
    const { stdout } = await run('/usr/bin/docker', ['volume', 'ls', '-q', '--filter', filter]);
    for (const volume of stdout.split('\n').filter(Boolean))
      await run('/usr/bin/docker', ['volume', 'rm', '-f', volume]);
  }
  rmSync(work, { recursive: true, force: true });
}
