// job-api-client against @runnerkit/coordinator on loopback: job request + acknowledgement round trips, trace PATCH
// round trips and trace upload throughput, each A/B against the same calls sent as bare undici requests (the floor:
// no retry loop, no session bookkeeping). Run: node bench/suites/job-api-client.mjs [--quick]
// (after pnpm --filter @runnerkit/job-api-client build and pnpm --filter @runnerkit/coordinator build)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { createJobApiClient } from '../../packages/job-api-client/dist/index.js';
import { Agent } from '../../packages/job-api-client/node_modules/undici/index.js';
import { compare, quick, record } from '../lib/ab.mjs';

const coordinator = await createCoordinator({ traceUpdateIntervalSeconds: 3 });
const runner = coordinator.createRunner();
const client = createJobApiClient({ url: coordinator.url, runner: { executor: 'docker', shell: 'bash' } });
const agent = new Agent();
const origin = new URL(coordinator.url).origin;
await client.verify({ token: runner.token, systemId: 's_benchbench01' });
const payload = { job_info: { name: 'bench', project_id: 1 }, steps: [{ name: 'script', script: ['true'] }] };

async function raw(method, path, headers, body) {
  const response = await agent.request({ origin, path: `/api/v4/${path}`, method, headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

const info = client.runnerInfo;
const rounds = quick ? 3 : 9;
const jobsPerRound = quick ? 50 : 200;

// 1. Job request (201 with a payload) + acknowledgement PUT, per job.
const requestResult = await compare({
  name: `job-api-client: ${jobsPerRound} × (job request + acknowledgement) vs bare undici`,
  rounds,
  candidate: {
    name: 'client',
    run: async () => {
      for (let i = 0; i < jobsPerRound; i++) {
        coordinator.createJob(payload);
        const result = await client.requestJob({ token: runner.token, systemId: 's_benchbench01' });
        if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
        const session = client.startJob(result.job);
        if ((await session.acknowledge()) !== 'run') throw new Error('not acknowledged');
        coordinator.setJobStatus(result.job.id, 'success');
      }
    },
  },
  baseline: {
    name: 'undici',
    run: async () => {
      for (let i = 0; i < jobsPerRound; i++) {
        coordinator.createJob(payload);
        const body = JSON.stringify({ info, token: runner.token, system_id: 's_benchbench01' });
        const answer = await raw(
          'POST',
          'jobs/request',
          { 'content-type': 'application/json', accept: 'application/json' },
          body,
        );
        if (answer.status !== 201) throw new Error(`status ${answer.status}`);
        const job = JSON.parse(answer.text);
        const ack = await raw(
          'PUT',
          `jobs/${job.id}`,
          { 'content-type': 'application/json', 'job-token': job.token },
          JSON.stringify({ info, token: job.token, state: 'running', output: {} }),
        );
        if (ack.status !== 200) throw new Error(`ack ${ack.status}`);
        coordinator.setJobStatus(job.id, 'success');
      }
    },
  },
});
record({
  name: 'job-api-client: job request + acknowledgement round trips per second (client)',
  value: (jobsPerRound / requestResult.candidate.median) * 1000,
  unit: 'jobs/s',
  note: `${((jobsPerRound / requestResult.candidate.median) * 1000).toFixed(0)} jobs/s (bare undici ${((jobsPerRound / requestResult.baseline.median) * 1000).toFixed(0)} jobs/s)`,
});

// A running job to send traces to.
async function runningJob(sessionOptions = {}) {
  coordinator.createJob(payload);
  const result = await client.requestJob({ token: runner.token, systemId: 's_benchbench01' });
  if (result.kind !== 'job') throw new Error('no job');
  const session = client.startJob(result.job, sessionOptions);
  await session.acknowledge();
  return { job: result.job, session };
}

// 2. Trace PATCH round trips: small appends (one 200-byte line per PATCH).
const patches = quick ? 200 : 1000;
const line = Buffer.from(`${'x'.repeat(199)}\n`);
const patchResult = await compare({
  name: `job-api-client: ${patches} trace PATCH round trips (200 B each) vs bare undici`,
  rounds,
  candidate: {
    name: 'client',
    run: async () => {
      const { session } = await runningJob();
      for (let i = 0; i < patches; i++) {
        session.write(line);
        await session.flush();
      }
      session.dispose();
    },
  },
  baseline: {
    name: 'undici',
    run: async () => {
      const { job, session } = await runningJob();
      session.dispose();
      let offset = 0;
      for (let i = 0; i < patches; i++) {
        const answer = await raw(
          'PATCH',
          `jobs/${job.id}/trace?debug_trace=false`,
          {
            'content-type': 'text/plain',
            'job-token': job.token,
            'content-range': `${offset}-${offset + line.length - 1}`,
          },
          line,
        );
        if (answer.status !== 202) throw new Error(`patch ${answer.status}`);
        offset += line.length;
      }
    },
  },
});
record({
  name: 'job-api-client: trace PATCH round trips per second (client)',
  value: (patches / patchResult.candidate.median) * 1000,
  unit: 'PATCH/s',
  note: `${((patches / patchResult.candidate.median) * 1000).toFixed(0)} PATCH/s (bare undici ${((patches / patchResult.baseline.median) * 1000).toFixed(0)} PATCH/s)`,
});

// 3. Trace upload throughput: a large trace in 1 MiB PATCHes, then the final update.
const megabytes = quick ? 10 : 50;
const data = randomBytes(megabytes * 1024 * 1024);
const uploadResult = await compare({
  name: `job-api-client: ${megabytes} MB trace upload (1 MiB PATCHes + final PUT) vs bare undici`,
  rounds: quick ? 3 : 5,
  candidate: {
    name: 'client',
    run: async () => {
      const { session } = await runningJob();
      session.write(data);
      const result = await session.finish({ state: 'success' });
      if (result.outcome !== 'delivered') throw new Error(result.outcome);
    },
  },
  baseline: {
    name: 'undici',
    run: async () => {
      const { job, session } = await runningJob();
      session.dispose();
      // The protocol needs the CRC-32 of the trace in the final update: the floor computes it too.
      let crc = 0;
      for (let offset = 0; offset < data.length; offset += 1024 * 1024) {
        const chunk = data.subarray(offset, offset + 1024 * 1024);
        crc = crc32(chunk, crc);
        const answer = await raw(
          'PATCH',
          `jobs/${job.id}/trace?debug_trace=false`,
          {
            'content-type': 'text/plain',
            'job-token': job.token,
            'content-range': `${offset}-${offset + chunk.length - 1}`,
          },
          chunk,
        );
        if (answer.status !== 202) throw new Error(`patch ${answer.status}`);
      }
      const done = await raw(
        'PUT',
        `jobs/${job.id}`,
        { 'content-type': 'application/json', 'job-token': job.token },
        JSON.stringify({
          info,
          token: job.token,
          state: 'success',
          checksum: `crc32:${(crc >>> 0).toString(16).padStart(8, '0')}`,
          output: { checksum: `crc32:${(crc >>> 0).toString(16).padStart(8, '0')}`, bytesize: data.length },
        }),
      );
      if (done.status !== 200) throw new Error(`final ${done.status}`);
    },
  },
});
record({
  name: 'job-api-client: trace upload throughput (client)',
  value: megabytes / (uploadResult.candidate.median / 1000),
  unit: 'MB/s',
  note: `${(megabytes / (uploadResult.candidate.median / 1000)).toFixed(0)} MB/s (bare undici ${(megabytes / (uploadResult.baseline.median / 1000)).toFixed(0)} MB/s)`,
});

// 4. The same upload with the trace spooled to a temporary file (traceSpool, as `runnerkit run` does) vs kept in
// memory, written in 64 KiB chunks as a job's output arrives: the cost of the file.
const spoolDirectory = mkdtempSync(join(tmpdir(), 'rk-bench-spool-'));
const uploadWith = (sessionOptions) => async () => {
  const { session } = await runningJob(sessionOptions);
  for (let offset = 0; offset < data.length; offset += 64 * 1024)
    session.write(data.subarray(offset, offset + 64 * 1024));
  const result = await session.finish({ state: 'success' });
  if (result.outcome !== 'delivered') throw new Error(result.outcome);
  await session.dispose();
};
await compare({
  name: `job-api-client: ${megabytes} MB trace upload, spooled to a file vs kept in memory`,
  rounds: quick ? 3 : 7,
  candidate: { name: 'traceSpool', run: uploadWith({ traceSpool: { directory: spoolDirectory } }) },
  baseline: { name: 'memory', run: uploadWith({}) },
});
const left = readdirSync(spoolDirectory);
rmSync(spoolDirectory, { recursive: true, force: true });
if (left.length) throw new Error(`trace spool files left behind: ${left.join(', ')}`);

await client.close();
await agent.close();
await coordinator.close();
