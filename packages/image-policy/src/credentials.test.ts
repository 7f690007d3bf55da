import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCredentialHelper } from './credential-helper.js';
import {
  type CredentialSources,
  describeCredentials,
  findCredentials,
  registryAuthHeader,
  registryPathOf,
  resolveImageCredentials,
  resolveRegistryCredentials,
} from './credentials.js';
import { CredentialsError } from './errors.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

const jobVariable = JSON.stringify({ auths: { '127.0.0.1:5001': { auth: b64('job:job-pass') } } });
const environmentValue = JSON.stringify({
  auths: {
    '127.0.0.1:5001': { auth: b64('env:env-pass') },
    'registry.example.com': { username: 'env-user', password: 'env-pass' },
  },
});
const dockerConfig = {
  path: '/home/runner/.docker/config.json',
  content: JSON.stringify({
    auths: {
      '127.0.0.1:5001': { auth: b64('home:home-pass') },
      'registry.example.com': { auth: b64('home:home-pass') },
      'https://index.docker.io/v1/': { auth: b64('hub:hub-pass') },
      'registry.example.com/group': { auth: b64('group:group-pass') },
      'Tokens.Example.com': { identitytoken: 'id-token' },
    },
  }),
};
const dockercfg = {
  path: '/home/runner/.dockercfg',
  content: JSON.stringify({ 'quay.io': { auth: b64('quay:quay-pass'), email: 'a@b' } }),
};
const payloadCredentials = [
  { type: 'registry', url: 'registry.gitlab.example.com', username: 'gitlab-ci-token', password: 'job-token' },
  { type: 'registry', url: '127.0.0.1:5001', username: 'payload', password: 'payload-pass' },
  { type: 'other', url: 'other.example.com', username: 'x', password: 'y' },
];
const all: CredentialSources = {
  jobVariables: [
    { key: 'CI_JOB_ID', value: '1' },
    { key: 'DOCKER_AUTH_CONFIG', value: jobVariable },
  ],
  runnerEnvironment: ['FOO=bar', `DOCKER_AUTH_CONFIG=${environmentValue}`],
  dockerConfig,
  dockercfg,
  payloadCredentials,
};

async function who(image: string, sources: CredentialSources): Promise<string> {
  const { credentials } = await resolveImageCredentials(image, sources);
  return credentials === undefined
    ? 'none'
    : `${credentials.source} ${credentials.username || credentials.identityToken}`;
}

describe('credential precedence', () => {
  const without = (...keys: Array<keyof CredentialSources>): CredentialSources =>
    Object.fromEntries(Object.entries(all).filter(([key]) => !keys.includes(key as keyof CredentialSources)));

  it.each([
    ['every source: the job variable wins', all, '127.0.0.1:5001/runnerkit-test/busybox', '$DOCKER_AUTH_CONFIG job'],
    ['no job variable: the runner environment', without('jobVariables'), '127.0.0.1:5001/a', '$DOCKER_AUTH_CONFIG env'],
    [
      'the job variable replaces the environment entry whole',
      all,
      'registry.example.com/x',
      '/home/runner/.docker/config.json home',
    ],
    [
      'no DOCKER_AUTH_CONFIG: the home config',
      without('jobVariables', 'runnerEnvironment'),
      '127.0.0.1:5001/a',
      '/home/runner/.docker/config.json home',
    ],
    ['only the payload', { payloadCredentials }, '127.0.0.1:5001/a', 'job payload (GitLab Registry) payload'],
    [
      'payload for the GitLab registry',
      all,
      'registry.gitlab.example.com/group/project/image:1',
      'job payload (GitLab Registry) gitlab-ci-token',
    ],
    ['non-registry payload entries are ignored', all, 'other.example.com/x', 'none'],
    ['Docker Hub through the legacy index key', all, 'ruby:3', '/home/runner/.docker/config.json hub'],
    ['Docker Hub written in full', all, 'docker.io/library/ruby', '/home/runner/.docker/config.json hub'],
    [
      'a path key wins for images below it',
      all,
      'registry.example.com/group/sub/app:1',
      '/home/runner/.docker/config.json group',
    ],
    ['the port must match exactly', all, 'registry.example.com:5000/group/app', 'none'],
    ['host:port keys do not match the bare host', all, '127.0.0.1/a', 'none'],
    [
      'host names compare case-insensitively',
      all,
      'tokens.example.com/app',
      '/home/runner/.docker/config.json id-token',
    ],
    ['~/.dockercfg is read only without config.json', all, 'quay.io/app', 'none'],
    ['~/.dockercfg in the legacy format', without('dockerConfig'), 'quay.io/app', '/home/runner/.dockercfg quay'],
    ['no sources at all', {}, 'ruby', 'none'],
  ] as const)('%s', async (_title, sources, image, expected) => {
    expect(await who(image, sources)).toBe(expected);
  });

  it('keeps the first entry per registry path across sources, in order', async () => {
    const { credentials, lines } = await resolveRegistryCredentials(all);
    expect(lines).toEqual([]);
    expect(credentials.map((entry) => `${entry.registryPath} ← ${entry.source}`)).toEqual([
      '127.0.0.1:5001 ← $DOCKER_AUTH_CONFIG',
      // Within a source, entries go in byte order of their keys (as GitLab sorts them): "Tokens…" < "https…".
      'tokens.example.com ← /home/runner/.docker/config.json',
      'docker.io ← /home/runner/.docker/config.json',
      'registry.example.com ← /home/runner/.docker/config.json',
      'registry.example.com/group ← /home/runner/.docker/config.json',
      'registry.gitlab.example.com ← job payload (GitLab Registry)',
    ]);
  });

  it('takes DOCKER_AUTH_CONFIG and config files as objects too', async () => {
    const sources: CredentialSources = {
      dockerConfig: {
        path: '/root/.docker/config.json',
        content: { auths: { 'r.example.com': { username: 'u', password: 'p' } } },
      },
    };
    expect(await who('r.example.com/x', sources)).toBe('/root/.docker/config.json u');
  });
});

describe('unreadable sources', () => {
  it.each([
    [
      'invalid JSON',
      '{"auths": {',
      /^Failed to resolve credentials from \$DOCKER_AUTH_CONFIG: invalid JSON: .*\. Credentials from this source will not be used\.$/,
    ],
    [
      'a bad auth field',
      JSON.stringify({ auths: { 'a.example.com': { auth: 'not base64!' } } }),
      /the "auth" of "a\.example\.com" is not base64/,
    ],
    [
      'auth without a colon',
      JSON.stringify({ auths: { 'a.example.com': { auth: b64('nocolon') } } }),
      /invalid auth configuration file/,
    ],
    ['a non-object', '[1,2]', /the configuration is not a JSON object/],
    ['auths of the wrong type', '{"auths": "x"}', /"auths" has the wrong type/],
    ['a helper without a way to run it', '{"credsStore": "desktop"}', /no way to run credential helpers was given/],
  ])('warns and skips the source: %s', async (_title, value, pattern) => {
    const { credentials, lines } = await resolveRegistryCredentials({
      jobVariables: [{ key: 'DOCKER_AUTH_CONFIG', value }],
      dockerConfig,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warning');
    expect(lines[0]!.text.startsWith('WARNING: Failed to resolve credentials from $DOCKER_AUTH_CONFIG: ')).toBe(true);
    expect(lines[0]!.message).toMatch(pattern);
    expect(findCredentials(credentials, '127.0.0.1:5001/a')?.source).toBe('/home/runner/.docker/config.json');
  });

  it('ignores an empty DOCKER_AUTH_CONFIG and one without credentials', async () => {
    for (const value of ['', '  ', '{}', '{"psFormat": "table"}']) {
      const { credentials, lines } = await resolveRegistryCredentials({
        jobVariables: [{ key: 'DOCKER_AUTH_CONFIG', value }],
      });
      expect([credentials, lines]).toEqual([[], []]);
    }
  });

  it('refuses helper names with a path, failing the whole resolution as GitLab does', async () => {
    const run = async () => '{}';
    for (const config of [{ credsStore: '../evil' }, { credHelpers: { 'a.example.com': 'x/y' } }]) {
      await expect(
        resolveRegistryCredentials(
          { jobVariables: [{ key: 'DOCKER_AUTH_CONFIG', value: JSON.stringify(config) }] },
          { runCredentialHelper: run },
        ),
      ).rejects.toMatchObject({ code: 'IMAGE_POLICY_CREDENTIAL_HELPER_REFUSED', source: '$DOCKER_AUTH_CONFIG' });
    }
  });
});

describe('credential helpers (real scripts, spawned)', () => {
  let dir: string;
  let run: ReturnType<typeof spawnCredentialHelper>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-policy-helper-'));
    const script = `#!/bin/sh
read -r server
case "$1" in
  get)
    case "$server" in
      127.0.0.1:5001) printf '{"ServerURL":"%s","Username":"rkuser","Secret":"rkpass"}' "$server" ;;
      tokens.example.com) printf '{"ServerURL":"%s","Username":"<token>","Secret":"id-token"}' "$server" ;;
      broken.example.com) echo "keychain is locked" >&2; exit 3 ;;
      *) echo "credentials not found in native keychain"; exit 1 ;;
    esac ;;
  list) printf '{"127.0.0.1:5001":"rkuser","tokens.example.com":"<token>"}' ;;
  *) echo "unknown action $1" >&2; exit 2 ;;
esac
`;
    await writeFile(join(dir, 'docker-credential-rktest'), script);
    await chmod(join(dir, 'docker-credential-rktest'), 0o755);
    run = spawnCredentialHelper({ env: { PATH: `${dir}:/usr/bin:/bin` } });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const viaVariable = (config: object): CredentialSources => ({
    jobVariables: [{ key: 'DOCKER_AUTH_CONFIG', value: JSON.stringify(config) }],
  });

  it('runs credHelpers for their registry', async () => {
    const { credentials, lines } = await resolveImageCredentials(
      '127.0.0.1:5001/runnerkit-test/busybox',
      viaVariable({ credHelpers: { '127.0.0.1:5001': 'rktest' } }),
      { runCredentialHelper: run },
    );
    expect(lines).toEqual([]);
    expect(credentials).toEqual({
      source: '$DOCKER_AUTH_CONFIG',
      registryPath: '127.0.0.1:5001',
      serverAddress: '127.0.0.1:5001',
      username: 'rkuser',
      password: 'rkpass',
    });
  });

  it('lists and gets every registry of a credsStore, with identity tokens', async () => {
    const { credentials } = await resolveRegistryCredentials(viaVariable({ credsStore: 'rktest' }), {
      runCredentialHelper: run,
    });
    expect(
      credentials.map((entry) => [entry.registryPath, entry.username, entry.password, entry.identityToken]),
    ).toEqual([
      ['127.0.0.1:5001', 'rkuser', 'rkpass', undefined],
      ['tokens.example.com', '', '', 'id-token'],
    ]);
  });

  it('treats "credentials not found" as no entry, and other helper failures as an unreadable source', async () => {
    const missing = await resolveRegistryCredentials(viaVariable({ credHelpers: { 'nobody.example.com': 'rktest' } }), {
      runCredentialHelper: run,
    });
    expect([missing.credentials, missing.lines]).toEqual([[], []]);
    const broken = await resolveRegistryCredentials(viaVariable({ credHelpers: { 'broken.example.com': 'rktest' } }), {
      runCredentialHelper: run,
    });
    expect(broken.lines.map((line) => line.text)).toEqual([
      'WARNING: Failed to resolve credentials from $DOCKER_AUTH_CONFIG: docker-credential-rktest get: keychain is locked. Credentials from this source will not be used.',
    ]);
    const absent = await resolveRegistryCredentials(viaVariable({ credsStore: 'absent' }), {
      runCredentialHelper: run,
    });
    expect(absent.lines[0]!.message).toContain('docker-credential-absent list: spawn docker-credential-absent ENOENT');
  });
});

describe('X-Registry-Auth and log descriptions', () => {
  const credentials = {
    source: '$DOCKER_AUTH_CONFIG',
    registryPath: '127.0.0.1:5001',
    serverAddress: '127.0.0.1:5001',
    username: 'rkuser',
    password: 'p+/?~~~',
  };

  it('encodes the Engine AuthConfig as padded base64url JSON', () => {
    const header = registryAuthHeader(credentials);
    expect(header).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(header.length % 4).toBe(0);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toEqual({
      username: 'rkuser',
      password: 'p+/?~~~',
      serveraddress: '127.0.0.1:5001',
    });
    const token = registryAuthHeader({ ...credentials, username: '', password: '', identityToken: 'id' });
    expect(JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))).toEqual({
      serveraddress: '127.0.0.1:5001',
      identitytoken: 'id',
    });
  });

  it('describes credentials without their secret', () => {
    const description = describeCredentials(credentials);
    expect(description).toBe(
      'username "rkuser" with password [REDACTED] for 127.0.0.1:5001 (from $DOCKER_AUTH_CONFIG)',
    );
    expect(description).not.toContain('p+/?');
    expect(describeCredentials({ ...credentials, username: '', identityToken: 'secret-token' })).not.toContain(
      'secret-token',
    );
  });

  it('normalises server addresses as GitLab does', () => {
    expect(
      [
        'https://index.docker.io/v1/',
        'http://Registry.Example.com:5000/v2/',
        'index.docker.io',
        'registry.example.com/',
        'Registry.Example.com/Group/app:tag',
        'localhost:5000',
      ].map(registryPathOf),
    ).toEqual([
      'docker.io',
      'registry.example.com:5000',
      'docker.io',
      'registry.example.com',
      'registry.example.com/Group/app',
      'localhost:5000',
    ]);
  });

  it('is a typed error with a source when thrown', () => {
    const error = new CredentialsError('IMAGE_POLICY_INVALID_DOCKER_CONFIG', 'x', 'y');
    expect(CredentialsError.isInstance(error)).toBe(true);
  });
});
