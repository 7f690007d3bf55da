// image-policy: a pull driven by the pull plan (decisions, credentials, X-Registry-Auth, Engine API over the unix
// socket) against `docker pull` of the same image from the local basic-auth registry; plus decision throughput.
// Run: node bench/suites/image-policy.mjs [--quick]   (needs dockerd and the registries from scripts/test-components)
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  effectivePullPolicies,
  parseImageReference,
  resolveImageCredentials,
  runPullPlan,
  verifyAllowedImage,
} from '../../packages/image-policy/dist/index.js';
import { compare, quick, record } from '../lib/ab.mjs';

const run = promisify(execFile);
const SOCKET = '/var/run/docker.sock';
const REGISTRY = '127.0.0.1:5001';
const IMAGE = `${REGISTRY}/runnerkit-test/busybox:latest`;
const AUTH = JSON.stringify({ auths: { [REGISTRY]: { auth: Buffer.from('rkuser:rkpass').toString('base64') } } });

function engine(method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: SOCKET, method, path: `/v1.41${path}`, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const existedBefore = (await engine('GET', `/images/${IMAGE}/json`)).status === 200;

const driver = {
  async inspect(name) {
    const response = await engine('GET', `/images/${name}/json`);
    const body = JSON.parse(response.body);
    return response.status === 200
      ? { found: true, id: body.Id, repoDigests: body.RepoDigests ?? [] }
      : { found: false, error: body.message };
  },
  resolveCredentials: (reference) =>
    resolveImageCredentials(reference, { jobVariables: [{ key: 'DOCKER_AUTH_CONFIG', value: AUTH }] }),
  async pull(step) {
    const query = new URLSearchParams({ fromImage: step.fromImage, tag: step.tag });
    const response = await engine('POST', `/images/create?${query}`, { 'x-registry-auth': step.registryAuth });
    if (response.status !== 200 || response.body.includes('"error"')) throw new Error(response.body);
  },
};

// docker pull needs a login; keep it in a throw-away DOCKER_CONFIG so the user's own config is untouched.
const dockerConfig = mkdtempSync(join(tmpdir(), 'bench-image-policy-'));
writeFileSync(join(dockerConfig, 'config.json'), AUTH);
const env = { ...process.env, DOCKER_CONFIG: dockerConfig };

try {
  await compare({
    name: 'image-policy: pull plan (always, basic auth) vs docker pull, image already local',
    candidate: { name: 'runPullPlan', run: () => runPullPlan({ image: IMAGE, policies: ['always'] }, driver) },
    baseline: { name: 'docker pull', run: () => run('/usr/bin/docker', ['pull', '-q', IMAGE], { env }) },
    rounds: quick ? 3 : 11,
  });

  const fixture = [
    'ruby:2.1',
    'library/ruby',
    'my.registry.tld/group/subgroup/ruby:2.1',
    'registry.example.com:5000/a/b@sha256:' + 'ab'.repeat(32),
  ];
  const patterns = ['my.registry.tld/**/*:*', '*/*:*', 'ruby:*', 'registry.example.com:5000/**'];
  const iterations = quick ? 20_000 : 200_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const image = fixture[i % fixture.length];
    parseImageReference(image);
    verifyAllowedImage({ image, allowed: patterns, kind: 'images' });
    effectivePullPolicies({ image, configPullPolicy: ['always', 'if-not-present'] });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  record({
    name: 'image-policy: decisions per second (parse + allow-list of 4 patterns + effective policies)',
    value: Math.round(iterations / seconds),
    unit: 'decisions/s',
    quick,
    note: `${Math.round(iterations / seconds)} decisions/s`,
  });
} finally {
  rmSync(dockerConfig, { recursive: true, force: true });
  if (!existedBefore) await engine('DELETE', `/images/${IMAGE}`);
}
