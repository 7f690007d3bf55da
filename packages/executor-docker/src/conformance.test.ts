import { describeExecutorConformance } from '@runnerkit/job-runtime/testing';
import { afterAll, expect } from 'vitest';
import { countLabelled, testContext } from './test-support/docker.js';

const context = testContext('conformance');

describeExecutorConformance({
  name: 'docker (busybox)',
  createExecutor: () => context.executor(),
  payload: { image: { name: context.images.busybox } },
  runner: { token: context.runnerToken },
});

afterAll(async () => {
  const short = context.runnerToken.slice(8, 17);
  expect(await countLabelled(context.client, short)).toEqual({ containers: 0, volumes: 0, networks: 0 });
});
