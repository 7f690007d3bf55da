// Real pulls from the local registries, driven by the pull plan through @runnerkit/docker-engine-client.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerClient, ImageNotFoundError } from '@runnerkit/docker-engine-client';
import { describeWithComponent, requireComponent } from '@runnerkit/testkit';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { spawnCredentialHelper } from './credential-helper.js';
import { type CredentialSources, resolveImageCredentials } from './credentials.js';
import { ImagePullError } from './errors.js';
import { type PullDriver, runPullPlan } from './pull-plan.js';

describeWithComponent('registry', 'pulls from the local registries', (registry) => {
  const docker = requireComponent('docker');
  const image = requireComponent('images').busybox; // runnerkit-test/busybox:latest, pushed to both registries
  const openImage = `${registry.plain}/${image}`;
  const authImage = `${registry.auth.address}/${image}`;
  const client = createDockerClient({ host: `unix://${docker.socket}` });
  const created = new Set<string>();
  let helperDir: string;

  async function exists(name: string): Promise<boolean> {
    return (await client.images.find(name)) !== undefined;
  }

  async function driver(sources: CredentialSources, lines: string[]): Promise<PullDriver> {
    const runCredentialHelper = spawnCredentialHelper({ env: { PATH: `${helperDir}:/usr/bin:/bin` } });
    return {
      async inspect(name) {
        try {
          const found = await client.images.inspect(name);
          return { found: true, id: found.Id, repoDigests: found.RepoDigests ?? [] };
        } catch (error) {
          if (error instanceof ImageNotFoundError) return { found: false, error: error.message };
          throw error;
        }
      },
      async resolveCredentials(reference) {
        return resolveImageCredentials(reference, sources, { runCredentialHelper });
      },
      async pull(step) {
        // Remember tags this test creates (not ones that were there before) so they can be removed.
        if (!(await exists(step.image))) created.add(step.image);
        await client.images.pull(step.fromImage, {
          tag: step.tag,
          ...(step.registryAuth === undefined ? {} : { auth: step.registryAuth }),
        });
      },
      line: (line) => lines.push(line.text),
    };
  }

  beforeAll(async () => {
    helperDir = await mkdtemp(join(tmpdir(), 'image-policy-pull-'));
    const helper = `#!/bin/sh
read -r server
if [ "$1" = get ] && [ "$server" = "${registry.auth.address}" ]; then
  printf '{"ServerURL":"%s","Username":"${registry.auth.username}","Secret":"${registry.auth.password}"}' "$server"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`;
    await writeFile(join(helperDir, 'docker-credential-rkregistry'), helper);
    await chmod(join(helperDir, 'docker-credential-rkregistry'), 0o755);
  });

  afterEach(async () => {
    // Untag what the test pulled; the runnerkit-test/* base tags keep the image itself.
    const names = [...created];
    created.clear();
    for (const name of names) {
      if (!(await exists(name))) continue; // a failed pull creates nothing
      const deleted = await client.images.remove(name);
      // Only the tag (and its digest reference) goes: the image stays, held by its runnerkit-test/* base tag.
      expect(deleted.filter((item) => 'Deleted' in item)).toEqual([]);
    }
  });

  afterAll(async () => {
    await client.close();
    await rm(helperDir, { recursive: true, force: true });
  });

  const authConfig = (password: string) =>
    JSON.stringify({
      auths: {
        [registry.auth.address]: { auth: Buffer.from(`${registry.auth.username}:${password}`).toString('base64') },
      },
    });

  it('pulls from the open registry without credentials', async () => {
    const lines: string[] = [];
    const result = await runPullPlan({ image: openImage, policies: ['always'] }, await driver({}, lines));
    expect(result.imageId).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(result.repoDigest).toMatch(new RegExp(`^${registry.plain}/runnerkit-test/busybox@sha256:[a-f0-9]{64}$`));
    expect(lines).toEqual([
      `Using effective pull policy of [always] for container ${openImage}`,
      `Pulling docker image ${openImage} ...`,
      `Using docker image ${result.imageId} for ${openImage} with digest ${result.repoDigest} ...`,
    ]);
    expect(await exists(openImage)).toBe(true);
  });

  it('pulls from the basic-auth registry with DOCKER_AUTH_CONFIG from the job', async () => {
    const lines: string[] = [];
    const sources: CredentialSources = {
      jobVariables: [{ key: 'DOCKER_AUTH_CONFIG', value: authConfig(registry.auth.password) }],
      runnerEnvironment: [`DOCKER_AUTH_CONFIG=${authConfig('wrong-password')}`],
    };
    const result = await runPullPlan({ image: authImage, policies: ['always'] }, await driver(sources, lines));
    expect(lines.slice(0, 3)).toEqual([
      `Using effective pull policy of [always] for container ${authImage}`,
      'Authenticating with credentials from $DOCKER_AUTH_CONFIG',
      `Pulling docker image ${authImage} ...`,
    ]);
    expect(result.repoDigest).toMatch(new RegExp(`^${registry.auth.address}/runnerkit-test/busybox@sha256:`));
  });

  it('fails with a configuration error when the password is wrong', async () => {
    const lines: string[] = [];
    const sources: CredentialSources = { runnerEnvironment: [`DOCKER_AUTH_CONFIG=${authConfig('wrong-password')}`] };
    const pulling = runPullPlan({ image: authImage, policies: ['always'] }, await driver(sources, lines));
    const error = await pulling.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ImagePullError);
    expect((error as ImagePullError).failureReason).toBe('runner_configuration_error');
    expect((error as ImagePullError).message).toMatch(
      new RegExp(`^failed to pull image "${authImage}" with specified policies \\[always\\]: .*unauthorized`),
    );
    expect(lines[1]).toBe('Authenticating with credentials from $DOCKER_AUTH_CONFIG');
    expect(lines.at(-1)).toMatch(/^WARNING: Failed to pull image with policy "always": .*unauthorized/);
  });

  it('fails without credentials for the basic-auth registry', async () => {
    const pulling = runPullPlan({ image: authImage, policies: ['always'] }, await driver({}, []));
    await expect(pulling).rejects.toMatchObject({
      failureReason: 'runner_configuration_error',
      message: expect.stringContaining('no basic auth credentials'),
    });
  });

  it('pulls with credentials from a credential helper named in the runner user’s config.json', async () => {
    const lines: string[] = [];
    const configPath = join(helperDir, 'config.json');
    const sources: CredentialSources = {
      dockerConfig: {
        path: configPath,
        content: JSON.stringify({ credHelpers: { [registry.auth.address]: 'rkregistry' } }),
      },
    };
    const result = await runPullPlan({ image: authImage, policies: ['always'] }, await driver(sources, lines));
    expect(lines[1]).toBe(`Authenticating with credentials from ${configPath}`);
    expect(result.imageId).toMatch(/^sha256:/);
  });
});
