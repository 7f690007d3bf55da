import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { repositoryRoot, requireComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerObjects, removeDockerObjects, runCli, temporaryDirectory } from './support.js';

let work: Awaited<ReturnType<typeof temporaryDirectory>>;
beforeAll(async () => {
  work = await temporaryDirectory('exec-docker');
});
afterAll(async () => {
  await work?.remove();
});

/** exec's stable local runner identity for a project directory (see apps/runner exec/run-pipeline.ts). */
const localShortToken = (dir: string) => createHash('sha256').update(`runnerkit-exec:${dir}`).digest('hex').slice(0, 9);

function shellEnv() {
  return { XDG_CACHE_HOME: join(work.path, 'cache-home') };
}

describe('runnerkit exec on examples/hello-service through Docker', () => {
  const example = join(repositoryRoot(), 'examples', 'hello-service');
  const short = localShortToken(example);
  afterAll(async () => {
    await removeDockerObjects(short);
  });

  it('build → artifact → test with a service by alias; the cache is kept between runs; no containers left', async () => {
    requireComponent('docker');
    requireComponent('images');
    await removeDockerObjects(short);
    const first = await runCli(['exec'], { cwd: example, env: shellEnv() });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('build | runs so far: 0');
    expect(first.stdout).toContain('test  | test passed');
    expect(first.stdout).toMatch(/^test\s+test\s+success/m);
    const second = await runCli(['exec'], { cwd: example, env: shellEnv() });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('build | runs so far: 1');
    const left = await dockerObjects(short);
    expect(left.containers).toEqual([]);
    expect(left.networks).toEqual([]);
  });
});
