// Pull failures and their failure reasons, as @runnerkit/image-policy classifies the daemon's message:
// a registry that fails the pull → image_pull_failure; a missing image → runner_configuration_error.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countLabelled, job, runAndInspect, testContext } from './test-support/docker.js';

const context = testContext('pullfail');
const short = context.runnerToken.slice(8, 17);
let registry: Server;
let requests: string[] = [];

beforeAll(async () => {
  // A "registry" on 127.0.0.1 that answers every request with 500 (the daemon treats loopback registries as
  // plain HTTP).
  registry = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    response.statusCode = 500;
    response.end('registry is broken');
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => registry.close(resolve));
});

describe('image pull failures', () => {
  it('a registry error fails the job with image_pull_failure, the daemon’s message in the log', async () => {
    requests = [];
    const port = (registry.address() as AddressInfo).port;
    const image = `127.0.0.1:${port}/runnerkit-test/broken:latest`;
    const { result, trace } = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['always'] } }),
      job(['true'], { image: { name: image } }),
    );
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'image_pull_failure' });
    expect(trace).toContain(`Pulling docker image ${image} ...`);
    expect(trace).toContain('received unexpected HTTP status: 500 Internal Server Error');
    expect(requests).toContain('GET /v2/runnerkit-test/broken/manifests/latest');
    expect(await countLabelled(context.client, short)).toEqual({ containers: 0, volumes: 0, networks: 0 });
  });

  it('a missing image with pull_policy = always is a runner_configuration_error', async () => {
    const image = `${requireComponent('registry').plain}/runnerkit-test/does-not-exist:latest`;
    const { result, trace } = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['always'] } }),
      job(['true'], { image: { name: image } }),
    );
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_configuration_error' });
    expect(trace).toMatch(/manifest unknown|not found/);
  });
});
