// e2e idle: one `runnerkit run` with 10 [[runners]] entries polling the coordinator (no jobs, check_interval left
// at GitLab Runner's default of 3 s, no long polling) for 60 s (--quick: 10 s): the runner process's CPU seconds,
// RSS and peak RSS over that window, and the job requests the coordinator answered. No baseline can run here
// (GitLab Runner has no binary in Debian or npm), so these are recorded as they are.
// Run alone: node bench/suites/e2e-idle.mjs [--quick]  (needs a built CLI)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { quick, record } from '../lib/ab.mjs';
import { cpuSeconds, memory, requireBuiltCli, startRun } from '../lib/runnerkit.mjs';

requireBuiltCli();
const RUNNERS = 10;
const WINDOW_S = quick ? 10 : 60;
const SETTLE_MS = 5_000; // start-up (module loading, first requests) is not idle time

const coordinator = await createCoordinator();
const work = mkdtempSync(join(tmpdir(), 'rk-bench-idle-'));
const configFile = join(work, 'config.toml');
const entries = Array.from({ length: RUNNERS }, (_, i) => {
  const { token } = coordinator.createRunner({});
  return `[[runners]]
  name = "idle-${i}"
  url = "${coordinator.url}"
  token = "${token}"
  executor = "docker"
  [runners.docker]
    image = "runnerkit-test/busybox:latest"
`;
});
writeFileSync(configFile, `concurrent = ${RUNNERS}\n\n${entries.join('\n')}`);

let runner;
try {
  runner = await startRun(configFile, { env: { XDG_CACHE_HOME: join(work, 'xdg-cache') } });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  coordinator.clearRequests();
  const cpuBefore = cpuSeconds(runner.pid);
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSeconds(runner.pid) - cpuBefore;
  const { rssMiB, peakMiB } = memory(runner.pid);
  const requests = coordinator.requests({ endpoint: 'job-request' }).length;
  record({
    name: `e2e idle: ${RUNNERS} runners polling for ${WINDOW_S} s, runner CPU`,
    value: Number(cpu.toFixed(2)),
    unit: 's',
    note: `${cpu.toFixed(2)} s CPU, ${((cpu / elapsed) * 100).toFixed(2)} % of one core; ${requests} job requests (${(requests / elapsed).toFixed(1)}/s), ${((cpu * 1000) / Math.max(1, requests)).toFixed(2)} ms CPU per request`,
  });
  record({
    name: `e2e idle: ${RUNNERS} runners polling for ${WINDOW_S} s, runner RSS`,
    value: Number(rssMiB.toFixed(1)),
    unit: 'MiB',
    note: `${rssMiB.toFixed(1)} MiB at the end, peak (VmHWM) ${peakMiB.toFixed(1)} MiB`,
  });
} finally {
  await runner?.stop('SIGQUIT');
  await coordinator.close();
  rmSync(work, { recursive: true, force: true });
}
