// Job images: payload or config default, entrypoints, user, shells, pulls (private registry), allow-lists.
import { randomBytes } from 'node:crypto';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent } from '@runnerkit/testkit';
import { job, runAndInspect, testContext, variables } from './test-support/docker.js';

const context = testContext('images');
const { busybox, entrypoint, entrypointWrapper } = context.images;
const noShell = `runnerkit-test/no-shell-${randomBytes(4).toString('hex')}:latest`;

beforeAll(async () => {
  // an image with a single file and no shell at all
  const tar = pack();
  tar.entry({ name: 'hello.txt' }, 'no shell here\n');
  tar.finalize();
  await context.client.images.import(tar as unknown as import('node:stream').Readable, {
    repo: noShell.split(':')[0],
    tag: 'latest',
  });
});
afterAll(async () => {
  await context.client.images.remove(noShell, { force: true }).catch(() => {});
});

describe('job images and entrypoints', () => {
  it('uses [runners.docker] image when the job names none', async () => {
    const executor = context.executor({ docker: { pull_policy: ['if-not-present'], image: busybox } });
    const { result, trace, build } = await runAndInspect(
      context,
      executor,
      job(['echo default-image'], { image: null }),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain(`Using Docker executor with image ${busybox} ...`);
    expect(build!.Config.Image).toBe(busybox);
  });

  it('an entrypoint that refuses to run the command fails with a clear message; [""] overrides it', async () => {
    const refused = await runAndInspect(context, context.executor(), job(['true'], { image: { name: entrypoint } }));
    expect(refused.result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(refused.trace).toContain(
      `the build container of image "${entrypoint}" exited with code 42 before the job could run: its entrypoint must start the command it is given (exec "$@"), or set image:entrypoint: [""] in the job`,
    );

    const overridden = await runAndInspect(
      context,
      context.executor(),
      job(['echo overridden-ok'], { image: { name: entrypoint, entrypoint: [''] } }),
    );
    expect(overridden.result.outcome).toEqual({ status: 'success' });
    expect(overridden.build!.Config.Entrypoint).toBeNull();
  });

  it('a wrapper entrypoint (exec "$@") runs the job; disable_entrypoint_overwrite keeps the image’s', async () => {
    const wrapper = await runAndInspect(
      context,
      context.executor(),
      job(['echo wrapped-ok'], { image: { name: entrypointWrapper } }),
    );
    expect(wrapper.result.outcome).toEqual({ status: 'success' });
    expect(wrapper.build!.Config.Entrypoint).toEqual(['/docker-entrypoint.sh']);

    const kept = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['if-not-present'], disable_entrypoint_overwrite: true } }),
      job(['true'], { image: { name: entrypoint, entrypoint: [''] } }),
    );
    expect(kept.trace).toContain('WARNING: Entrypoint override disabled');
    expect(kept.result.outcome).toMatchObject({ status: 'failed' });
  });

  it('an image without a shell fails with a job-log error naming the shells it needs', async () => {
    const { result, trace } = await runAndInspect(
      context,
      context.executor(),
      job(['true'], { image: { name: noShell } }),
    );
    expect(result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(trace).toContain(`the image "${noShell}" has no usable shell`);
  });

  it('user: [runners.docker] user wins over image:docker:user; allowed_users refuses others', async () => {
    const fromJob = await runAndInspect(
      context,
      context.executor(),
      job(['id -u'], { image: { name: busybox, executor_opts: { docker: { user: '65534' } } } }),
    );
    expect(fromJob.result.outcome).toEqual({ status: 'success' });
    expect(fromJob.trace).toContain('\n65534\n');

    const refused = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['if-not-present'], allowed_users: ['root'] } }),
      job(['id -u'], { image: { name: busybox, executor_opts: { docker: { user: '65534' } } } }),
    );
    expect(refused.result.outcome).toMatchObject({
      failureReason: 'runner_configuration_error',
      message: 'user "65534" is not an allowed user: [root]',
    });
  });

  it('allowed_images refuses other images with GitLab’s text; a failed pull is image_pull_failure class', async () => {
    const refused = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['if-not-present'], allowed_images: ['allowed/*:*'] } }),
      job(['true']),
    );
    expect(refused.trace).toContain(`ERROR: The "${busybox}" image is not present on list of allowed images:`);
    expect(refused.trace).toContain('- allowed/*:*');
    expect(refused.result.outcome).toMatchObject({ failureReason: 'runner_configuration_error' });

    const missing = await runAndInspect(
      context,
      context.executor({ docker: { pull_policy: ['never'] } }),
      job(['true'], { image: { name: 'runnerkit-test/does-not-exist:1' } }),
    );
    expect(missing.trace).toContain(
      'Using effective pull policy of [never] for container runnerkit-test/does-not-exist:1',
    );
    expect(missing.result.outcome).toMatchObject({ status: 'failed' });
    expect(missing.result.outcome.status === 'failed' && missing.result.outcome.message).toMatch(
      /^failed to pull image "runnerkit-test\/does-not-exist:1" with specified policies \[never\]/,
    );
  });

  it('pulls a private-registry image with DOCKER_AUTH_CONFIG credentials', async () => {
    const registry = requireComponent('registry');
    const image = `${registry.auth.address}/runnerkit-test/busybox:latest`;
    await context.client.images.remove(image, { force: true }).catch(() => {});
    const auth = Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64');
    try {
      const { result, trace } = await runAndInspect(
        context,
        context.executor({ docker: { pull_policy: ['always'] } }),
        job(['echo private-ok'], {
          image: { name: image },
          variables: variables({
            DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.auth.address]: { auth } } }),
          }),
        }),
      );
      expect(result.outcome).toEqual({ status: 'success' });
      expect(trace).toContain('Authenticating with credentials from $DOCKER_AUTH_CONFIG');
      expect(trace).toContain(`Pulling docker image ${image} ...`);
      expect(trace).toContain('\nprivate-ok\n');

      const denied = await runAndInspect(
        context,
        context.executor({ docker: { pull_policy: ['always'] } }),
        job(['true'], { image: { name: image } }),
      );
      expect(denied.result.outcome).toMatchObject({ status: 'failed', failureReason: 'runner_configuration_error' });
    } finally {
      await context.client.images.remove(image, { force: true }).catch(() => {});
    }
  });
});
