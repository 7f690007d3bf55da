// config-schema: parse + validate (+ effective values) of a config.toml with 100 runners, against a bare smol-toml
// parse of the same text. Run: node bench/suites/config-schema.mjs [--quick]  (after pnpm --filter @runnerkit/config-schema build)
import { parseConfig, stringifyRunner } from '../../packages/config-schema/dist/index.js';
import { parse } from '../../packages/config-schema/node_modules/smol-toml/dist/index.js';
import { compare, quick } from '../lib/ab.mjs';

function runner(i) {
  return {
    name: `runner-${i}`,
    url: 'https://gitlab.example.com/',
    id: 1000 + i,
    token: `glrt-bench${String(i).padStart(16, '0')}`,
    token_obtained_at: '2024-05-02T08:15:00Z',
    token_expires_at: '0001-01-01T00:00:00Z',
    executor: 'docker',
    limit: 4,
    environment: ['ENV=value', `RUNNER_INDEX=${i}`],
    feature_flags: { FF_NETWORK_PER_BUILD: i % 2 === 0 },
    cache: { Type: 's3', Shared: true, s3: { ServerAddress: '127.0.0.1:4569', BucketName: 'runner-cache' } },
    docker: {
      image: 'alpine:3.20',
      privileged: false,
      volumes: ['/cache', '/var/run/docker.sock:/var/run/docker.sock'],
      pull_policy: ['if-not-present', 'always'],
      memory: '2g',
      cpus: '1.5',
      sysctls: { 'net.ipv4.ip_forward': '1' },
      services: [{ name: 'postgres:16', alias: 'db' }, { name: 'redis:7' }],
    },
  };
}

const text = `concurrent = 100\ncheck_interval = 3\n\n[session_server]\n  session_timeout = 1800\n\n${Array.from({ length: 100 }, (_, i) => stringifyRunner(runner(i))).join('\n')}`;
const iterations = quick ? 5 : 20;

const result = await compare({
  name: 'config-schema: parse+validate 100 runners vs bare smol-toml parse',
  candidate: {
    name: 'parseConfig',
    run: () => {
      for (let i = 0; i < iterations; i++) parseConfig(text);
    },
  },
  baseline: {
    name: 'smol-toml parse',
    run: () => {
      for (let i = 0; i < iterations; i++) parse(text, { integersAsBigInt: true });
    },
  },
});
process.stdout.write(
  `  ${(text.length / 1024).toFixed(0)} KiB, ${iterations} parses per round: parseConfig ${(result.candidate.median / iterations).toFixed(2)} ms/parse, smol-toml ${(result.baseline.median / iterations).toFixed(2)} ms/parse\n`,
);
