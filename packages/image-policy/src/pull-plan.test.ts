import { describe, expect, it } from 'vitest';
import type { RegistryCredentials } from './credentials.js';
import { ImagePullError, PlanStateError } from './errors.js';
import { classifyPullFailure, type PullOutcome, PullPlan, type PullPlanOptions, runPullPlan } from './pull-plan.js';

const ID = 'sha256:802c91d5298192c0f3a08101aeb5f9ade2992e22c9e27fa8b88eab82602550d0';
const DIGEST = 'ruby@sha256:de0eb0b3f2a47ba1eb89389859a9bd88b28e82f5826b6969ad604979713c2d4f';

interface World {
  /** Whether the image is present locally before any pull. */
  local: boolean;
  /** Outcome of each pull in order: 'ok' or an error message. */
  pulls?: string[];
  /** Whether the image is there after a successful pull (default true). */
  presentAfterPull?: boolean;
  credentials?: RegistryCredentials | string;
}

/** Drives a plan through a scripted world and returns the log and the end. */
function simulate(options: PullPlanOptions, world: World) {
  const plan = new PullPlan(options);
  const log: string[] = [];
  const actions: string[] = [];
  const pulls = [...(world.pulls ?? [])];
  let present = world.local;
  let step = plan.start();
  for (let guard = 0; guard < 100; guard++) {
    log.push(...step.lines.map((line) => line.text));
    if (step.kind === 'done') return { log, actions, end: `done ${step.imageId}` };
    if (step.kind === 'failed') {
      return { log, actions, end: `failed [${step.error.failureReason}] ${step.error.message}` };
    }
    actions.push(
      step.kind === 'pull' ? `pull ${step.fromImage} ${step.tag}${step.registryAuth ? ' (auth)' : ''}` : step.kind,
    );
    let outcome: PullOutcome;
    switch (step.kind) {
      case 'inspect':
        outcome = present
          ? { kind: 'inspect', found: true, id: ID, repoDigests: [DIGEST] }
          : { kind: 'inspect', found: false, error: `No such image: ${options.image}` };
        break;
      case 'resolve-credentials':
        outcome =
          typeof world.credentials === 'string'
            ? { kind: 'resolve-credentials', error: world.credentials }
            : { kind: 'resolve-credentials', credentials: world.credentials };
        break;
      case 'pull': {
        const result = pulls.shift() ?? 'ok';
        if (result === 'ok') present = world.presentAfterPull ?? true;
        outcome = result === 'ok' ? { kind: 'pull', ok: true } : { kind: 'pull', ok: false, error: result };
        break;
      }
      case 'wait':
        actions[actions.length - 1] = `wait ${step.milliseconds}`;
        outcome = { kind: 'wait' };
        break;
    }
    step = plan.next(outcome);
  }
  throw new Error('the plan did not finish');
}

const base = { image: 'ruby:3', random: () => 0.5 } as const;

describe('pull plan decision table', () => {
  it('always: pulls, then uses the pulled image', () => {
    expect(simulate({ ...base, policies: ['always'] }, { local: true })).toMatchInlineSnapshot(`
      {
        "actions": [
          "inspect",
          "resolve-credentials",
          "pull ruby 3",
          "inspect",
        ],
        "end": "done sha256:802c91d5298192c0f3a08101aeb5f9ade2992e22c9e27fa8b88eab82602550d0",
        "log": [
          "Using effective pull policy of [always] for container ruby:3",
          "Pulling docker image ruby:3 ...",
          "Using docker image sha256:802c91d5298192c0f3a08101aeb5f9ade2992e22c9e27fa8b88eab82602550d0 for ruby:3 with digest ruby@sha256:de0eb0b3f2a47ba1eb89389859a9bd88b28e82f5826b6969ad604979713c2d4f ...",
        ],
      }
    `);
  });

  it('if-not-present: uses the local image without pulling', () => {
    const result = simulate({ ...base, policies: ['if-not-present'] }, { local: true });
    expect(result.actions).toEqual(['inspect']);
    expect(result.log).toEqual([
      'Using effective pull policy of [if-not-present] for container ruby:3',
      'Using locally found image version due to "if-not-present" pull policy',
      `Using docker image ${ID} for ruby:3 with digest ${DIGEST} ...`,
    ]);
  });

  it('if-not-present: pulls when the image is missing', () => {
    expect(simulate({ ...base, policies: ['if-not-present'] }, { local: false }).actions).toEqual([
      'inspect',
      'resolve-credentials',
      'pull ruby 3',
      'inspect',
    ]);
  });

  it('never: uses the local image or fails with the inspect error (unclassified: system failure)', () => {
    expect(simulate({ ...base, policies: ['never'] }, { local: true }).end).toBe(`done ${ID}`);
    expect(simulate({ ...base, policies: ['never'] }, { local: false })).toMatchInlineSnapshot(`
      {
        "actions": [
          "inspect",
        ],
        "end": "failed [runner_system_failure] failed to pull image "ruby:3" with specified policies [never]: No such image: ruby:3",
        "log": [
          "Using effective pull policy of [never] for container ruby:3",
          "WARNING: Failed to pull image with policy "never": No such image: ruby:3",
        ],
      }
    `);
  });

  it('falls back to the next policy as in the seeds’ pull-error table', () => {
    const error = 'Error response from daemon: received unexpected HTTP status: 502 Bad Gateway';
    const result = simulate({ ...base, policies: ['always', 'if-not-present'] }, { local: true, pulls: [error] });
    expect(result.log).toEqual([
      'Using effective pull policy of [always if-not-present] for container ruby:3',
      'Pulling docker image ruby:3 ...',
      `WARNING: Failed to pull image with policy "always": ${error}`,
      'Attempt #2: Trying "if-not-present" pull policy',
      'Using locally found image version due to "if-not-present" pull policy',
      `Using docker image ${ID} for ruby:3 with digest ${DIGEST} ...`,
    ]);
  });

  it('retries by repeating a policy, then fails with the last error classified', () => {
    const notFound =
      'Error response from daemon: manifest for registry.tld/my/image:latest not found: manifest unknown';
    const result = simulate(
      { ...base, image: 'registry.tld/my/image:latest', policies: ['always', 'always'] },
      { local: false, pulls: [notFound, notFound] },
    );
    expect(result.actions).toEqual([
      'inspect',
      'resolve-credentials',
      'pull registry.tld/my/image latest',
      'inspect',
      'resolve-credentials',
      'pull registry.tld/my/image latest',
    ]);
    expect(result.log.slice(3)).toEqual([
      'Attempt #2: Trying "always" pull policy',
      'Pulling docker image registry.tld/my/image:latest ...',
      `WARNING: Failed to pull image with policy "always": ${notFound}`,
    ]);
    expect(result.end).toBe(
      `failed [runner_configuration_error] failed to pull image "registry.tld/my/image:latest" with specified policies [always always]: ${notFound}`,
    );
  });

  it('retries transient failures with jittered back-off inside one policy', () => {
    const refused =
      'Error response from daemon: Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused';
    const result = simulate({ ...base, policies: ['always'] }, { local: false, pulls: [refused, refused, 'ok'] });
    expect(result.actions).toEqual([
      'inspect',
      'resolve-credentials',
      'pull ruby 3',
      'wait 2000',
      'pull ruby 3',
      'wait 3000',
      'pull ruby 3',
      'inspect',
    ]);
    expect(result.log).toEqual([
      'Using effective pull policy of [always] for container ruby:3',
      'Pulling docker image ruby:3 ...',
      `WARNING: Failed to pull image "ruby:3" (attempt #1), retrying: ${refused}`,
      `WARNING: Failed to pull image "ruby:3" (attempt #2), retrying: ${refused}`,
      `Using docker image ${ID} for ruby:3 with digest ${DIGEST} ...`,
    ]);
    const exhausted = simulate({ ...base, policies: ['always'] }, { local: false, pulls: [refused, refused, refused] });
    expect(exhausted.end).toBe(
      `failed [runner_external_dependency_failure] failed to pull image "ruby:3" with specified policies [always]: ${refused}`,
    );
  });

  it('authenticates when credentials are found and says where they came from', () => {
    const credentials: RegistryCredentials = {
      source: '$DOCKER_AUTH_CONFIG',
      registryPath: '127.0.0.1:5001',
      serverAddress: '127.0.0.1:5001',
      username: 'rkuser',
      password: 'rkpass',
    };
    const result = simulate(
      { ...base, image: '127.0.0.1:5001/runnerkit-test/busybox', policies: ['always'], platform: 'linux/amd64' },
      { local: false, credentials },
    );
    expect(result.actions[2]).toBe('pull 127.0.0.1:5001/runnerkit-test/busybox latest (auth)');
    expect(result.log.slice(1, 3)).toEqual([
      'Authenticating with credentials from $DOCKER_AUTH_CONFIG',
      'Pulling docker image 127.0.0.1:5001/runnerkit-test/busybox for platform linux/amd64 ...',
    ]);
  });

  it('fails the policy when credentials cannot be resolved', () => {
    const result = simulate(
      { ...base, policies: ['always'] },
      { local: false, credentials: 'path traversal is not allowed' },
    );
    expect(result.end).toBe(
      'failed [runner_system_failure] failed to pull image "ruby:3" with specified policies [always]: path traversal is not allowed',
    );
  });

  it('fails the policy when the image is missing after a successful pull', () => {
    const result = simulate({ ...base, policies: ['always'] }, { local: false, presentAfterPull: false });
    expect(result.log.at(-1)).toBe(
      'WARNING: Failed to pull image with policy "always": inspecting image "ruby:3" after pull: No such image: ruby:3',
    );
  });

  it('does not pull an image this job already used, nor one named by its ID', () => {
    expect(simulate({ ...base, policies: ['always'], usedImageId: ID }, { local: true })).toEqual({
      actions: ['inspect'],
      end: `done ${ID}`,
      log: [
        'Using effective pull policy of [always] for container ruby:3',
        `Using docker image ${ID} for ruby:3 with digest ${DIGEST} ...`,
      ],
    });
    expect(simulate({ ...base, image: ID, policies: ['always'] }, { local: true })).toEqual({
      actions: ['inspect'],
      end: `done ${ID}`,
      log: [`Using effective pull policy of [always] for container ${ID}`],
    });
  });

  it('refuses outcomes that do not answer the pending step', () => {
    const plan = new PullPlan({ ...base, policies: ['always'] });
    expect(() => plan.next({ kind: 'wait' })).toThrow(PlanStateError);
    plan.start();
    expect(() => plan.next({ kind: 'pull', ok: true })).toThrow('expected the outcome of a "inspect" step, got "pull"');
    expect(() => new PullPlan({ ...base, policies: [] })).toThrow(PlanStateError);
  });
});

describe('classifyPullFailure', () => {
  it.each([
    ['dial tcp: lookup registry.example: no such host', 'runner_external_dependency_failure'],
    ['net/http: TLS handshake timeout', 'runner_external_dependency_failure'],
    ['read: connection reset by peer', 'runner_external_dependency_failure'],
    ['manifest unknown', 'runner_configuration_error'],
    ['pull access denied for x, repository does not exist or may require docker login', 'runner_configuration_error'],
    [
      'Head "http://127.0.0.1:5001/v2/x/manifests/latest": no basic auth credentials: unauthorized',
      'runner_configuration_error',
    ],
    ['Head "http://127.0.0.1:5001/v2/a/manifests/latest": no basic auth credentials', 'runner_configuration_error'],
    ['received unexpected HTTP status: 502 Bad Gateway', 'image_pull_failure'],
  ] as const)('%s → %s', (message, reason) => {
    expect(classifyPullFailure(message)).toBe(reason);
  });
});

describe('runPullPlan', () => {
  it('drives the plan through a driver and prints every line in order', async () => {
    const lines: string[] = [];
    const waits: number[] = [];
    let pulls = 0;
    const result = await runPullPlan(
      { image: 'ruby:3', policies: ['always'], random: () => 0 },
      {
        inspect: async () => (pulls > 1 ? { found: true, id: ID } : { found: false, error: 'No such image: ruby:3' }),
        resolveCredentials: async () => undefined,
        pull: async () => {
          pulls++;
          if (pulls === 1) throw new Error('i/o timeout');
        },
        wait: async (milliseconds) => {
          waits.push(milliseconds);
        },
        line: (line) => lines.push(line.text),
      },
    );
    expect(result).toEqual({ imageId: ID, repoDigest: undefined });
    expect(waits).toEqual([2000]);
    expect(lines).toEqual([
      'Using effective pull policy of [always] for container ruby:3',
      'Pulling docker image ruby:3 ...',
      'WARNING: Failed to pull image "ruby:3" (attempt #1), retrying: i/o timeout',
      `Using docker image ${ID} for ruby:3 ...`,
    ]);
  });

  it('rejects with ImagePullError when every policy fails', async () => {
    const failing = runPullPlan(
      { image: 'ruby:3', policies: ['never'] },
      {
        inspect: async () => ({ found: false, error: 'No such image: ruby:3' }),
        resolveCredentials: async () => {
          throw new Error('not reached');
        },
        pull: async () => {},
      },
    );
    await expect(failing).rejects.toBeInstanceOf(ImagePullError);
    await expect(failing).rejects.toMatchObject({
      code: 'IMAGE_POLICY_PULL_FAILED',
      failureReason: 'runner_system_failure',
    });
  });
});

describe('the digest named in the log line', () => {
  it('is the one of the repository the job asked for when the image carries several', () => {
    const image = '127.0.0.1:5001/group/app:1.0';
    const plan = new PullPlan({ ...base, image, policies: ['if-not-present'] });
    plan.start();
    const step = plan.next({
      kind: 'inspect',
      found: true,
      id: 'sha256:abc',
      repoDigests: ['127.0.0.1:5000/group/app@sha256:111', '127.0.0.1:5001/group/app@sha256:111'],
    });
    expect(step).toMatchObject({ kind: 'done', repoDigest: '127.0.0.1:5001/group/app@sha256:111' });
  });
});
