import { afterEach, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import { JobApiError } from './errors.js';
import { tokenRotationDue } from './runners.js';
import {
  compareRequest,
  exchange,
  FIXTURE_RUNNER,
  fixture,
  instantClock,
  replyOf,
  startServer,
  type TestServer,
} from './testing/http-server.js';

let server: TestServer;
let client: JobApiClient;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

async function setup(file: string, name: string) {
  const f = fixture(file);
  const ex = exchange(f, name);
  server = await startServer(() => replyOf(ex));
  client = createJobApiClient({ url: server.url, runner: FIXTURE_RUNNER, clock: instantClock() });
  return { f, ex };
}

async function rejection(promise: Promise<unknown>): Promise<JobApiError> {
  try {
    await promise;
  } catch (error) {
    if (JobApiError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const legacyOptions = {
  token: 'GR1348941FAKE-registration-token',
  description: 'docker-runner-1',
  maintenanceNote: 'Managed by platform team',
  tagList: ['docker', 'linux'],
  runUntagged: false,
  locked: true,
  accessLevel: 'not_protected',
  maximumTimeout: 10800,
  paused: false,
};

describe('legacy registration (POST /api/v4/runners)', () => {
  it('sends the fixture request and returns id, token and expiry', async () => {
    const { f, ex } = await setup('register-legacy.json', 'success');
    const credentials = await client.register(legacyOptions);
    const { expected, actual } = compareRequest(f, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(credentials).toMatchObject({ id: 12, token: 'glrtr-FAKE-legacy-runner-token-02', tokenExpiresAt: null });
    expect(credentials.tokenObtainedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
  });

  it.each([
    ['invalid registration token', 'GR1348941FAKE-wrong-token', 'JOB_API_FORBIDDEN', 403],
    ['registration tokens disabled on the server', legacyOptions.token, 'JOB_API_REGISTRATION_DISALLOWED', 410],
    ['validation error (unknown access_level)', legacyOptions.token, 'JOB_API_VALIDATION_FAILED', 400],
  ])('%s → %s', async (name, token, code, status) => {
    const { f, ex } = await setup('register-legacy.json', name);
    const accessLevel = name.startsWith('validation') ? 'everything' : 'not_protected';
    const error = await rejection(client.register({ ...legacyOptions, token, accessLevel }));
    const { expected, actual } = compareRequest(f, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message).not.toContain('FAKE-');
    expect(server.requests).toHaveLength(1);
  });

  it('shows the server message of a 400', async () => {
    await setup('register-legacy.json', 'validation error (unknown access_level)');
    const error = await rejection(client.register({ ...legacyOptions, accessLevel: 'everything' }));
    expect(error.message).toMatchInlineSnapshot(
      `"[POST] /api/v4/runners: 400 Bad Request (access_level does not have a valid value)"`,
    );
  });
});

describe('created-runner flow (glrt- tokens)', () => {
  const token = 'glrt-FAKE-created-runner-token-01';

  it('verifies instead of registering and stores the returned id', async () => {
    const { f, ex } = await setup('register-created-runner.json', 'verify succeeds');
    const credentials = await client.register({ token, systemId: 's_0123456789ab' });
    expect(compareRequest(f, ex, server.requests[0]!).actual).toEqual(
      compareRequest(f, ex, server.requests[0]!).expected,
    );
    expect(server.requests.map((r) => r.path)).toEqual(['/api/v4/runners/verify']);
    expect(credentials).toMatchObject({ id: 34, token, tokenExpiresAt: '2026-12-31T00:00:00.000Z' });
  });

  it('rejects server-side settings, or ignores them with a warning when asked', async () => {
    await setup('register-created-runner.json', 'verify succeeds');
    const error = await rejection(client.register({ token, systemId: 's_0123456789ab', tagList: ['x'], locked: true }));
    expect(error.code).toBe('JOB_API_CREATED_RUNNER_SETTINGS');
    expect(error.message).toMatchInlineSnapshot(
      `"runner settings --tag-list, --locked are owned by GitLab for runners created in the UI (glrt-[MASKED]); set them there"`,
    );
    expect(server.requests).toHaveLength(0);
    const events: string[] = [];
    await client.close();
    client = createJobApiClient({
      url: server.url,
      runner: FIXTURE_RUNNER,
      onEvent: (e) => e.type === 'warning' && events.push(e.message),
    });
    const credentials = await client.register({
      token,
      systemId: 's_0123456789ab',
      tagList: ['x'],
      ignoreServerSideSettings: true,
    });
    expect(credentials.id).toBe(34);
    expect(events).toHaveLength(1);
    expect(events[0]).toContain('ignored');
  });

  it('403 means the token is not valid', async () => {
    const { f, ex } = await setup('register-created-runner.json', 'token unknown or runner deleted');
    const error = await rejection(
      client.verify({ token: 'glrt-FAKE-deleted-runner-token', systemId: 's_0123456789ab' }),
    );
    expect(compareRequest(f, ex, server.requests[0]!).actual).toEqual(
      compareRequest(f, ex, server.requests[0]!).expected,
    );
    expect(error.code).toBe('JOB_API_FORBIDDEN');
    expect(error.message).toMatchInlineSnapshot(
      `"[POST] /api/v4/runners/verify: 403 Forbidden (runner glrt-[MASKED] is not valid: 403 Forbidden)"`,
    );
  });

  it('a plain-text 200 from old GitLab is alive, but register fails for want of an id', async () => {
    await setup('register-created-runner.json', 'legacy server answers plain text');
    await expect(client.verify({ token, systemId: 's_0123456789ab' })).resolves.toEqual({
      id: undefined,
      token,
      tokenExpiresAt: null,
    });
    const error = await rejection(client.register({ token, systemId: 's_0123456789ab' }));
    expect(error.code).toBe('JOB_API_VERIFY_NO_ID');
  });
});

describe('unregister', () => {
  it('deletes the runner for a non-glrt token', async () => {
    const { f, ex } = await setup('unregister.json', 'delete runner');
    await client.unregister({ token: 'glrtr-FAKE-legacy-runner-token-02', systemId: 's_0123456789ab' });
    const { expected, actual } = compareRequest(f, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
  });

  it('deletes only this machine’s manager for a glrt token', async () => {
    const { f, ex } = await setup('unregister.json', 'delete runner manager');
    await client.unregister({ token: 'glrt-FAKE-created-runner-token-01', systemId: 's_0123456789ab' });
    const { expected, actual } = compareRequest(f, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
  });

  it('404 for an unknown manager and 403 for an unknown token are typed', async () => {
    await setup('unregister.json', 'delete runner manager that does not exist');
    const notFound = await rejection(
      client.unregisterManager({ token: 'glrt-FAKE-created-runner-token-01', systemId: 's_zzzzzzzzzzzz' }),
    );
    expect(notFound.code).toBe('JOB_API_NOT_FOUND');
    server.handle(() => replyOf(exchange(fixture('unregister.json'), 'unknown token')));
    const forbidden = await rejection(client.unregisterRunner({ token: 'glrt-FAKE-unknown' }));
    expect(forbidden.code).toBe('JOB_API_FORBIDDEN');
    expect(forbidden.message).not.toContain('FAKE-unknown');
  });
});

describe('token rotation', () => {
  it('resets with the current token', async () => {
    const { f, ex } = await setup('reset-token.json', 'reset with the current token');
    const result = await client.resetToken({ token: 'glrt-FAKE-created-runner-token-01' });
    const { expected, actual } = compareRequest(f, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(result).toMatchObject({
      token: 'glrt-FAKE-rotated-runner-token-03',
      tokenExpiresAt: '2027-03-31T00:00:00.000Z',
    });
  });

  it('resets by runner id with a personal access token', async () => {
    const { f, ex } = await setup('reset-token.json', 'reset with a personal access token');
    const result = await client.resetTokenWithPersonalAccessToken({
      runnerId: 34,
      personalAccessToken: 'glpat-FAKE-personal-token',
    });
    const { expected, actual } = compareRequest(f, ex, server.requests[0]!);
    expect(actual).toEqual(expected);
    expect(server.requests[0]!.body.length).toBe(0);
    expect(result).toMatchObject({ token: 'glrt-FAKE-rotated-runner-token-04', tokenExpiresAt: null });
  });

  it('403 → forbidden', async () => {
    await setup('reset-token.json', 'current token is wrong');
    const error = await rejection(client.resetToken({ token: 'glrt-FAKE-unknown' }));
    expect(error.code).toBe('JOB_API_FORBIDDEN');
  });

  it('is due after 75 % of the token lifetime', () => {
    const credentials = { tokenObtainedAt: '2026-01-01T00:00:00Z', tokenExpiresAt: '2026-01-05T00:00:00Z' };
    expect(tokenRotationDue(credentials, Date.parse('2026-01-03T23:59:59Z'))).toBe(false);
    expect(tokenRotationDue(credentials, Date.parse('2026-01-04T00:00:00Z'))).toBe(true);
    expect(tokenRotationDue({ tokenObtainedAt: '2026-01-01T00:00:00Z', tokenExpiresAt: null })).toBe(false);
  });
});
