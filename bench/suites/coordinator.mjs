// coordinator: runner-API round trips on loopback (job request, trace PATCH) against a bare node:http server that
// answers the same status without any logic (the floor), and trace upload throughput in 1 MiB PATCHes.
// Run: node bench/suites/coordinator.mjs [--quick]   (needs `pnpm --filter @runnerkit/coordinator build`)
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createCoordinator } from '../../packages/coordinator/dist/index.js';
import { compare, quick, record } from '../lib/ab.mjs';

const ROUND_TRIPS = quick ? 200 : 1000;
const UPLOAD_MB = quick ? 16 : 64;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(base, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}${path}`, { method, headers, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const coordinator = await createCoordinator();
const runner = coordinator.createRunner();
const requestBody = JSON.stringify({ token: runner.token, info: { features: { two_phase_job_commit: false } } });

// The floor: the same HTTP exchanges answered by a server that does nothing.
const floor = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    if (request.url.endsWith('/trace')) response.writeHead(202, { Range: '0-1' }).end();
    else response.writeHead(204).end();
  });
});
await new Promise((resolve) => floor.listen(0, '127.0.0.1', resolve));
const floorUrl = `http://127.0.0.1:${floor.address().port}`;

const jobRequests = (base) => async () => {
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const response = await call(
      base,
      'POST',
      '/api/v4/jobs/request',
      { 'Content-Type': 'application/json' },
      requestBody,
    );
    if (response.statusCode !== 204) throw new Error(`job request: ${response.statusCode}`);
  }
};

const chunk = Buffer.alloc(4096, 'x');
let traceJob = coordinator.createJob({});
coordinator.setJobStatus(traceJob.id, 'running');
const tracePatches = (base, real) => async () => {
  if (real) {
    traceJob = coordinator.createJob({});
    coordinator.setJobStatus(traceJob.id, 'running');
  }
  let offset = 0;
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const response = await call(
      base,
      'PATCH',
      `/api/v4/jobs/${traceJob.id}/trace`,
      { 'JOB-TOKEN': traceJob.token, 'Content-Range': `${offset}-${offset + chunk.length - 1}` },
      chunk,
    );
    if (response.statusCode !== 202) throw new Error(`trace: ${response.statusCode}`);
    offset += chunk.length;
  }
};

const requestResult = await compare({
  name: `coordinator: ${ROUND_TRIPS} job requests (204) vs bare node:http`,
  candidate: { name: 'coordinator', run: jobRequests(coordinator.url) },
  baseline: { name: 'bare node:http', run: jobRequests(floorUrl) },
});
const patchResult = await compare({
  name: `coordinator: ${ROUND_TRIPS} trace PATCHes of 4 KiB vs bare node:http`,
  candidate: { name: 'coordinator', run: tracePatches(coordinator.url, true) },
  baseline: { name: 'bare node:http', run: tracePatches(floorUrl, false) },
});
record({
  name: 'coordinator: round trips per second on loopback',
  note: `job request ${Math.round((ROUND_TRIPS / requestResult.candidate.median) * 1000)}/s, trace PATCH ${Math.round((ROUND_TRIPS / patchResult.candidate.median) * 1000)}/s`,
});

// Throughput: a trace uploaded in 1 MiB PATCHes, as the client does.
const big = randomBytes(UPLOAD_MB * 1024 * 1024);
const upload = coordinator.createJob({});
coordinator.setJobStatus(upload.id, 'running');
const started = process.hrtime.bigint();
for (let offset = 0; offset < big.length; offset += 1024 * 1024) {
  const part = big.subarray(offset, offset + 1024 * 1024);
  const response = await call(
    coordinator.url,
    'PATCH',
    `/api/v4/jobs/${upload.id}/trace`,
    { 'JOB-TOKEN': upload.token, 'Content-Range': `${offset}-${offset + part.length - 1}` },
    part,
  );
  if (response.statusCode !== 202) throw new Error(`upload: ${response.statusCode}`);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
if (!coordinator.trace(upload.id).equals(big)) throw new Error('stored trace differs');
record({
  name: `coordinator: trace upload of ${UPLOAD_MB} MB in 1 MiB PATCHes`,
  note: `${(UPLOAD_MB / seconds).toFixed(1)} MB/s`,
});

agent.destroy();
floor.close();
await coordinator.close();
