// docker-engine-client against a fake Engine on a unix socket that answers badly: every call resolves or rejects
// with a DockerError carrying a code; streams end; nothing hangs past the timeouts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerClient, type DockerClient, DockerError, encodeFrame } from '@runnerkit/docker-engine-client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushFuzzCases, fuzzCase, fuzzParameters } from '../support/fuzz.js';
import { type Answer, startUnixServer, type TestServer, writeAnswer } from '../support/servers.js';

let directory: string;
let server: TestServer;
let docker: DockerClient;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rk-fake-docker-'));
  server = await startUnixServer(join(directory, 'docker.sock'), (_request, response) => {
    response.writeHead(500).end();
  });
  docker = createDockerClient({ host: server.url, apiVersion: '1.41', timeout: 300, connectTimeout: 300 });
});
afterAll(async () => {
  await docker?.close();
  await server?.close();
  await rm(directory, { recursive: true, force: true });
  flushFuzzCases();
});

const frames = fc
  .array(fc.tuple(fc.constantFrom(0, 1, 2, 3, 7), fc.uint8Array({ maxLength: 40 })), { maxLength: 5 })
  .map((list) =>
    Buffer.concat(
      list.map(([kind, data]) => {
        try {
          return encodeFrame(kind === 2 ? 'stderr' : 'stdout', Buffer.from(data));
        } catch {
          return Buffer.from(data);
        }
      }),
    ),
  );

const bodies: fc.Arbitrary<Buffer> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? '')),
  fc
    .constantFrom(
      '{"message":"No such container: abc"}',
      '{"message":"No such image: busybox:latest"}',
      '{"message":"pull access denied"}',
      '{"Id": 42}',
      '{"StatusCode": "zero"}',
      '{"status":"Pulling"}\n{"error":"manifest unknown","errorDetail":{"message":"manifest unknown"}}\n',
      '{"status":"Pulling"}\n{"stat',
      '[{"Id": null}]',
      '{"ApiVersion": "1.12"}',
      'null',
      '',
    )
    .map((text) => Buffer.from(text)),
  frames,
  fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes)),
);

const answers: fc.Arbitrary<Answer> = fc.record({
  behaviour: fc.constantFrom(
    'answer',
    'answer',
    'answer',
    'drop',
    'partial-body',
    'stall-headers',
    'stall-body',
    'wrong-length',
  ),
  status: fc.constantFrom(200, 201, 204, 304, 400, 401, 403, 404, 409, 500, 503),
  contentType: fc.constantFrom(
    'application/json',
    'application/vnd.docker.raw-stream',
    'application/vnd.docker.multiplexed-stream',
    'text/plain',
    null,
  ),
  headers: fc.dictionary(fc.constantFrom('api-version', 'docker-experimental', 'ostype'), fc.string({ maxLength: 8 }), {
    maxKeys: 2,
  }),
  body: bodies,
});

type Call = (client: DockerClient) => Promise<unknown>;
const calls: Record<string, Call> = {
  ping: (client) => client.system.ping(),
  version: (client) => client.system.version(),
  inspect: (client) => client.containers.inspect('abc'),
  create: (client) => client.containers.create({ Image: 'busybox', Labels: { a: 'b' } }),
  start: (client) => client.containers.start('abc'),
  wait: (client) => client.containers.wait('abc', { timeout: 500 }),
  remove: (client) => client.containers.remove('abc', { force: true }),
  logs: async (client) => (await client.containers.logs('abc', { timeout: 500 })).collect(),
  pull: (client) => client.images.pull('busybox:latest', { timeout: 500 }),
  imageInspect: (client) => client.images.find('busybox:latest'),
  networks: (client) => client.networks.list(),
  networkCreate: (client) => client.networks.create({ Name: 'x' }),
  volumes: (client) => client.volumes.list(),
  statPath: (client) => client.containers.statPath('abc', '/builds'),
  archive: async (client) => {
    const { tar } = await client.containers.getArchive('abc', '/builds', { timeout: 500 });
    for await (const _ of tar) {
      // drain
    }
  },
};

describe('docker-engine-client: a misbehaving Engine on a unix socket', () => {
  it('each call resolves or rejects with a coded DockerError, within its timeout', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(calls)), answers, async (name, answer) => {
        fuzzCase();
        server.handler = (request, response) => writeAnswer(request, response, answer, 700);
        const started = performance.now();
        try {
          await (calls[name] as Call)(docker);
        } catch (error) {
          expect(DockerError.isInstance(error), `${name}: ${String(error)} ${(error as Error).stack}`).toBe(true);
          expect(typeof (error as DockerError).code).toBe('string');
        }
        expect(performance.now() - started, name).toBeLessThan(3_000);
      }),
      fuzzParameters(120, 5_000),
    );
  });
});
