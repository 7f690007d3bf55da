// docker-engine-client: container lifecycle (create + start + wait + remove) against `docker run --rm` and
// dockerode; log streaming against `docker logs > /dev/null`; peak memory while a slow consumer reads 1 GB.
// Run: node bench/suites/docker-engine-client.mjs [--quick]   (needs dockerd from scripts/test-components and
// `pnpm --filter @runnerkit/docker-engine-client build`)
import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { DockerClient } from '../../packages/docker-engine-client/dist/index.js';
import { compare, quick, record } from '../lib/ab.mjs';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const SOCKET = '/var/run/docker.sock';
const IMAGE = 'runnerkit-test/busybox:latest';
const LABELS = { 'runnerkit.bench': 'docker-engine-client' };
const require = createRequire(new URL('../../packages/docker-engine-client/package.json', import.meta.url));
const Dockerode = require('dockerode');

const client = new DockerClient({ host: `unix://${SOCKET}` });
const dockerode = new Dockerode({ socketPath: SOCKET });

async function sweep() {
  const leftovers = await client.containers.list({
    all: true,
    filters: { label: ['runnerkit.bench=docker-engine-client'] },
  });
  await Promise.all(leftovers.map((c) => client.containers.remove(c.Id, { force: true }).catch(() => {})));
}

try {
  // 1. lifecycle of a short-lived container
  const lifecycle = {
    name: 'docker-engine-client',
    run: async () => {
      const { Id } = await client.containers.create({ Image: IMAGE, Cmd: ['true'], Labels: LABELS });
      await client.containers.start(Id);
      await client.containers.wait(Id);
      await client.containers.remove(Id);
    },
  };
  await compare({
    name: 'docker-engine-client: create+start+wait+remove vs docker run --rm',
    candidate: lifecycle,
    baseline: {
      name: 'docker run --rm',
      run: () => run(DOCKER, ['run', '--rm', '--label', 'runnerkit.bench=docker-engine-client', IMAGE, 'true']),
    },
    goal: 1.0,
  });
  await compare({
    name: 'docker-engine-client: create+start+wait+remove vs dockerode',
    candidate: lifecycle,
    baseline: {
      name: 'dockerode',
      run: async () => {
        const container = await dockerode.createContainer({ Image: IMAGE, Cmd: ['true'], Labels: LABELS });
        await container.start();
        await container.wait();
        await container.remove();
      },
    },
    goal: 1.0,
  });

  // 2. log streaming: one finished container with a json-file log, read again and again
  // 1 KiB lines: the json-file driver's cost is per line, so tiny lines would measure only the daemon
  const logMb = quick ? 8 : 32; // half a MiB block (512 lines of 1 KiB): 2×logMb on stdout, logMb on stderr
  const logSize = 3 * logMb * 512 * 1024;
  const { Id: logId } = await client.containers.create({
    Image: IMAGE,
    Cmd: [
      'sh',
      '-c',
      `l=$(head -c 1023 /dev/zero | tr '\\0' x); i=0; while [ $i -lt 512 ]; do echo "$l"; i=$((i+1)); done > /tmp/b; ` +
        `n=0; while [ $n -lt ${logMb * 2} ]; do cat /tmp/b; n=$((n+1)); done; ` +
        `n=0; while [ $n -lt ${logMb} ]; do cat /tmp/b >&2; n=$((n+1)); done`,
    ],
    Labels: LABELS,
  });
  await client.containers.start(logId);
  await client.containers.wait(logId);
  let logBytes = 0;
  const logs = await compare({
    name: `docker-engine-client: logs (${(logSize / 1e6).toFixed(0)} MB) vs docker logs > /dev/null`,
    candidate: {
      name: 'docker-engine-client logs',
      run: async () => {
        logBytes = 0;
        for await (const piece of await client.containers.logs(logId, { tty: false })) logBytes += piece.data.length;
      },
    },
    baseline: {
      name: 'docker logs',
      run: () =>
        new Promise((resolve, reject) => {
          const child = spawn(DOCKER, ['logs', logId], { stdio: ['ignore', 'ignore', 'ignore'] });
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker logs exited ${code}`))));
        }),
    },
    rounds: quick ? 3 : 7,
    goal: 1.0,
  });
  record({
    name: 'docker-engine-client: log throughput',
    note: `${(logBytes / 1e6).toFixed(1)} MB; ours ${(logBytes / 1e3 / logs.candidate.median).toFixed(0)} MB/s, docker logs ${(logBytes / 1e3 / logs.baseline.median).toFixed(0)} MB/s`,
  });
  await client.containers.remove(logId, { force: true });

  // 3. peak memory: 1 GB (128 MB with --quick) through attach into a consumer limited to ~64 MB/s
  const totalMb = quick ? 128 : 1024;
  const { Id: bigId } = await client.containers.create({
    Image: IMAGE,
    Cmd: ['sh', '-c', `head -c ${totalMb * 1024 * 1024} /dev/zero`],
    Labels: LABELS,
    HostConfig: { LogConfig: { Type: 'none' } },
  });
  const session = await client.containers.attach(bigId, { tty: false });
  await client.containers.start(bigId);
  global.gc?.();
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  let received = 0;
  let writes = 0;
  const slow = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk, _encoding, done) {
      received += chunk.length;
      // about one timer tick per 256 KiB: a consumer several times slower than the daemon can produce
      if (++writes % 4 === 0) setTimeout(done, 1);
      else setImmediate(done);
    },
  });
  const started = Date.now();
  await session.pipeTo(slow, slow);
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  await client.containers.wait(bigId);
  await client.containers.remove(bigId, { force: true });
  record({
    name: 'docker-engine-client: peak memory, slow consumer',
    note: `${(received / 1024 / 1024).toFixed(0)} MiB in ${seconds.toFixed(1)} s (${(received / 1024 / 1024 / seconds).toFixed(0)} MiB/s); RSS before ${(baseRss / 1024 / 1024).toFixed(0)} MiB, peak ${(peakRss / 1024 / 1024).toFixed(0)} MiB (+${((peakRss - baseRss) / 1024 / 1024).toFixed(0)} MiB)`,
    peakRssMiB: peakRss / 1024 / 1024,
    growthMiB: (peakRss - baseRss) / 1024 / 1024,
  });
} finally {
  await sweep();
  await client.close();
}
