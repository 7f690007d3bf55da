// e2e trace: a job writing 200 MiB to stdout (--quick: 20 MiB) through `runnerkit run` (Docker executor) and the
// coordinator, vs `docker run --rm` of the same command writing to /dev/null. Timed from the job's creation
// (POST /-/pipelines) to its final status at the coordinator, the runner already polling (long polling on, so the
// pick-up is immediate). Goals: ≤ 1.3×, runner peak RSS (VmHWM) under 150 MiB, every byte accounted for: the
// coordinator's stored trace, timestamps removed, is the job's output byte for byte (length and SHA-256), and no
// trace spool file is left in the runner's state directory.
// Run alone: node bench/suites/e2e-trace.mjs [--quick]  (needs dockerd, the runnerkit-test images, a built CLI)
// Profile the runner: RUNNERKIT_BENCH_CPU_PROF=<dir> writes its `node --cpu-prof` profile there.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { compare, quick, record } from '../lib/ab.mjs';
import { dockerAsync, dockerLeftovers, gitCheckout, removeDockerObjects } from '../lib/peers.mjs';
import {
  cpuSeconds,
  memory,
  requireBuiltCli,
  runnerLabelFilter,
  shortTokenOf,
  startRun,
  until,
} from '../lib/runnerkit.mjs';

requireBuiltCli();
const MiB = 2 ** 20;
const BYTES = (quick ? 20 : 200) * MiB;
const LINE = 'runnerkit trace benchmark line 0123456789 abcdefghijklmnopqrstu\n'; // 64 bytes: BYTES is a multiple
// `yes` dies of SIGPIPE when head has enough; GitLab's shell runs with pipefail, so its status is ignored.
const COMMAND = `{ yes "${LINE.trimEnd()}" || true; } | head -c ${BYTES}`;
const EXPECTED_SHA256 = (() => {
  const hash = createHash('sha256');
  const block = Buffer.from(LINE.repeat(MiB / LINE.length));
  for (let i = 0; i < BYTES / MiB; i++) hash.update(block);
  return hash.digest('hex');
})();
const BUSYBOX = 'runnerkit-test/busybox:latest';
// Timestamps add ~32 bytes per 64-byte line: 200 MiB of output is ~300 MiB of trace.
const TRACE_LIMIT = 2 * BYTES + 16 * MiB;

/**
 * The job's output as stored: the lines after the echoed command up to the end of the step_script section, each
 * without GitLab's timestamp prefix (`2025-01-01T00:00:00.000000Z 01O `, `+` after the stream marks a line that
 * continues the previous one). Returns { bytes, sha256 }.
 */
function jobOutput(trace) {
  const marker = trace.indexOf(Buffer.from(`$ ${COMMAND}`));
  if (marker < 0) throw new Error('the echoed command is not in the trace');
  const end = trace.indexOf(Buffer.from('section_end:'), marker);
  const bodyEnd = trace.lastIndexOf(10, end) + 1;
  const prefix = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z [0-9a-f]{2}[OE]([ +])/;
  const hash = createHash('sha256');
  let bytes = 0;
  let pendingNewline = false;
  let at = trace.indexOf(10, marker) + 1;
  while (at < bodyEnd) {
    const newline = trace.indexOf(10, at);
    const head = prefix.exec(trace.toString('latin1', at, Math.min(at + 40, newline)));
    if (!head) throw new Error(`a trace line without a timestamp: ${trace.toString('utf8', at, at + 80)}`);
    // A continuation line: the newline before it was the runner's, not the job's.
    if (pendingNewline && head[1] !== '+') {
      hash.update('\n');
      bytes += 1;
    }
    const content = trace.subarray(at + head[0].length, newline);
    hash.update(content);
    bytes += content.length;
    pendingNewline = true;
    at = newline + 1;
  }
  if (pendingNewline) {
    hash.update('\n');
    bytes += 1;
  }
  return { bytes, sha256: hash.digest('hex') };
}

const coordinator = await createCoordinator({ traceSizeLimitBytes: TRACE_LIMIT, longPollingSeconds: 50 });
const registered = coordinator.createRunner({});
const checkout = gitCheckout('trace', { 'README.md': 'trace benchmark\n' });
const configFile = join(checkout.parent, 'config.toml');
writeFileSync(
  configFile,
  `concurrent = 1
check_interval = 1
shutdown_timeout = 30

[[runners]]
  name = "bench-trace"
  url = "${coordinator.url}"
  token = "${registered.token}"
  executor = "docker"
  output_limit = ${Math.ceil(TRACE_LIMIT / 1024)}
  [runners.docker]
    image = "${BUSYBOX}"
    pull_policy = ["if-not-present"]
`,
);
const yaml = `variables:
  GIT_STRATEGY: none
trace:
  script:
    - '${COMMAND}'
`;
const objects = runnerLabelFilter(shortTokenOf(registered.token));
const jobIds = [];
let runner;

async function throughCoordinator() {
  const answer = await fetch(`${coordinator.url}/-/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ yaml, project_dir: checkout.dir }),
  });
  if (answer.status !== 201) throw new Error(`POST /-/pipelines: ${answer.status} ${await answer.text()}`);
  const created = await answer.json();
  const id = created.jobs[0].id;
  jobIds.push(id);
  // GET /-/pipelines/:id answers job states without traces (coordinator.job(id) renders the whole trace as text).
  const job = await until(
    async () => {
      const state = (await (await fetch(`${coordinator.url}/-/pipelines/${created.id}`)).json()).jobs[0];
      return ['success', 'failed', 'canceled'].includes(state.status) ? state : undefined;
    },
    { timeoutMs: 600_000, intervalMs: 50, what: `job ${id}` },
  );
  if (job.status !== 'success') throw new Error(`job ${id} ${job.status}: ${coordinator.job(id)?.failure_reason}`);
}

try {
  const profileDir = process.env.RUNNERKIT_BENCH_CPU_PROF;
  runner = await startRun(configFile, {
    env: { XDG_CACHE_HOME: join(checkout.parent, 'xdg-cache') },
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  const cpuBefore = cpuSeconds(runner.pid);
  const result = await compare({
    name: `e2e: job writing ${BYTES / MiB} MiB to stdout, runnerkit run + coordinator vs docker run > /dev/null`,
    candidate: { name: 'runnerkit run', run: throughCoordinator },
    baseline: {
      name: 'docker run --rm > /dev/null',
      run: () => dockerAsync(['run', '--rm', BUSYBOX, 'sh', '-o', 'pipefail', '-c', `${COMMAND} > /dev/null`]),
    },
    rounds: quick ? 3 : 5,
    goal: 1.3,
  });
  // Where the time goes: the same output streamed out of the container through dockerd (attach, json-file log
  // driver, as GitLab Runner and runnerkit create build containers) into the host's /dev/null — the floor for any
  // runner that reads a job's output from dockerd. Not a goal; it splits dockerd's share from runnerkit's.
  await compare({
    name: `e2e: job writing ${BYTES / MiB} MiB to stdout, runnerkit run + coordinator vs docker run (output via dockerd) > /dev/null`,
    candidate: { name: 'runnerkit run', run: throughCoordinator },
    baseline: {
      name: 'docker run --rm, output through dockerd',
      run: () => dockerAsync(['run', '--rm', BUSYBOX, 'sh', '-c', COMMAND]),
    },
    rounds: quick ? 2 : 3,
  });
  const cpu = cpuSeconds(runner.pid) - cpuBefore;
  const { peakMiB } = memory(runner.pid);
  record({
    name: `e2e trace (${BYTES / MiB} MiB): runner peak RSS (VmHWM)`,
    value: Number(peakMiB.toFixed(1)),
    unit: 'MiB',
    goal: null,
    met: peakMiB < 150,
    note: `${peakMiB.toFixed(1)} MiB; goal < 150 MiB ${peakMiB < 150 ? 'met' : `MISSED by ${(peakMiB - 150).toFixed(0)} MiB`}`,
  });
  record({
    name: `e2e trace (${BYTES / MiB} MiB): runner CPU per job`,
    value: Number((cpu / jobIds.length).toFixed(2)),
    unit: 's',
    note: `${(cpu / jobIds.length).toFixed(2)} s; ${(BYTES / MiB / (cpu / jobIds.length)).toFixed(0)} MiB of output per runner CPU second; wall median ${(result.candidate.median / 1000).toFixed(1)} s`,
  });
  // Every byte accounted for, job by job; each trace is dropped from the coordinator once checked.
  const wrong = [];
  for (const id of jobIds) {
    const stored = jobOutput(coordinator.trace(id));
    if (stored.bytes !== BYTES || stored.sha256 !== EXPECTED_SHA256) wrong.push({ id, ...stored });
    coordinator.inject({ type: 'lose-trace-tail', jobId: id, bytes: coordinator.trace(id).length });
  }
  record({
    name: `e2e trace (${BYTES / MiB} MiB): bytes accounted for`,
    value: `${jobIds.length - wrong.length}/${jobIds.length} jobs`,
    unit: '',
    met: wrong.length === 0,
    note: wrong.length
      ? `MISMATCH: ${JSON.stringify(wrong)}`
      : `${BYTES} bytes, SHA-256 ${EXPECTED_SHA256.slice(0, 12)}… in every stored trace (timestamps removed)`,
  });
  if (wrong.length) process.exitCode = 1;
  // The runner spools each trace to a temporary file under its state directory; none may outlive its job.
  const spoolDir = join(checkout.parent, 'xdg-cache', 'runnerkit', 'run', 'traces');
  const spooled = existsSync(spoolDir) ? readdirSync(spoolDir) : [];
  record({
    name: `e2e trace (${BYTES / MiB} MiB): trace spool files left after the jobs`,
    value: spooled.length,
    unit: 'files',
    met: spooled.length === 0 && existsSync(spoolDir),
    note: existsSync(spoolDir)
      ? `${spoolDir}: ${spooled.length ? spooled.join(', ') : 'empty'}`
      : 'no spool directory (traces kept in memory?)',
  });
  if (spooled.length) process.exitCode = 1;
  const left = dockerLeftovers(objects);
  if (left.containers.length || left.networks.length)
    throw new Error(`runnerkit run left Docker objects behind: ${JSON.stringify(left)}`);
} finally {
  await runner?.stop('SIGQUIT');
  removeDockerObjects(objects);
  await coordinator.close();
  checkout.remove();
}
