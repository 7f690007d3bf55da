// Real pulls from the local registries, driven by the pull plan. The engine is reached with undici over the
// unix socket: @runnerkit/docker-engine-client's pull was not committed yet when these tests were written.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithComponent, requireComponent } from '@runnerkit/testkit';
import { Client } from 'undici';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { spawnCredentialHelper } from './credential-helper.js';
import { type CredentialSources, resolveImageCredentials } from './credentials.js';
import { ImagePullError } from './errors.js';
import { type PullDriver, runPullPlan } from './pull-plan.js';

const API = '/v1.41';

describeWithComponent('registry', 'pulls from the local registries', (registry) => {
  const docker = requireComponent('docker');
  const image = requireComponent('images').busybox; // runnerkit-test/busybox:latest, pushed to both registries
  const openImage = `${registry.plain}/${image}`;
  const authImage = `${registry.auth.address}/${image}`;
  const client = new Client('http://localhost', { socketPath: docker.socket });
  const created = new Set<string>();
  let helperDir: string;

  async function exists(name: string): Promise<boolean> {
    const response = await client.request({ method: 'GET', path: `${API}/images/${name}/json` });
    await response.body.dump();
    return response.statusCode === 200;
  }

  async function driver(sources: CredentialSources, lines: string[]): Promise<PullDriver> {
    const runCredentialHelper = spawnCredentialHelper({ env: { PATH: `${helperDir}:/usr/bin:/bin` } });
    return {
      async inspect(name) {
        const response = await client.request({ method: 'GET', path: `${API}/images/${name}/json` });
        const body = (await response.body.json()) as { Id?: string; RepoDigests?: string[]; message?: string };
        if (response.statusCode === 200) return { found: true, id: body.Id!, repoDigests: body.RepoDigests ?? [] };
        return { found: false, error: body.message ?? `HTTP ${response.statusCode}` };
      },
      async resolveCredentials(reference) {
        return resolveImageCredentials(reference, sources, { runCredentialHelper });
      },
      async pull(step) {
        // Remember tags this test creates (not ones that were there before) so they can be removed.
        if (!(await exists(step.image))) created.add(step.image);
        const query = new URLSearchParams({ fromImage: step.fromImage, tag: step.tag });
        const headers: Record<string, string> = {};
        if (step.registryAuth !== undefined) headers['x-registry-auth'] = step.registryAuth;
        const response = await client.request({ method: 'POST', path: `${API}/images/create?${query}`, headers });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error((JSON.parse(text) as { message: string }).message);
        for (const line of text.split('\n')) {
          if (line.trim() === '') continue;
          const event = JSON.parse(line) as { error?: string };
          if (event.error !== undefined) throw new Error(event.error);
        }
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
    for (const name of created) {
      const response = await client.request({ method: 'DELETE', path: `${API}/images/${name}` });
      await response.body.dump();
      expect([200, 404]).toContain(response.statusCode);
    }
    created.clear();
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
