import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { describeWithComponent, repositoryRoot } from '@runnerkit/testkit';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);

async function fails(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describeWithComponent('docker', 'dockerd', (docker) => {
  it('answers _ping over the unix socket', async () => {
    const agent = new Agent({ connect: { socketPath: docker.socket } });
    const response = await request('http://localhost/_ping', { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('OK');
    expect(response.headers['api-version']).toBe('1.41');
    await agent.close();
  });

  it('answers _ping over plain TCP', async () => {
    const url = docker.tcp.replace('tcp://', 'http://');
    const response = await request(`${url}/_ping`);
    expect(await response.body.text()).toBe('OK');
  });

  it('answers _ping over TLS with the client certificate and refuses without one', async () => {
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'cert.pem', 'key.pem'].map((file) => readFile(join(docker.tls.certPath, file), 'utf8')),
    );
    const url = docker.tls.host.replace('tcp://', 'https://');
    const withCert = new Agent({ connect: { ca, cert, key } });
    const response = await request(`${url}/_ping`, { dispatcher: withCert });
    expect(await response.body.text()).toBe('OK');
    await withCert.close();

    const withoutCert = new Agent({ connect: { ca } });
    const error = await fails(request(`${url}/_ping`, { dispatcher: withoutCert }).then((r) => r.body.text()));
    expect(error).toBeInstanceOf(Error);
    await withoutCert.close().catch(() => {});
  });
});

describeWithComponent('images', 'test images', (images) => {
  it('has every image tag the tests use', async () => {
    for (const image of Object.values(images)) {
      const { stdout } = await run('/usr/bin/docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
      expect(stdout).toMatch(/^sha256:/);
    }
  });
});

describeWithComponent('registry', 'registries', (registry) => {
  it('lists the catalog without auth on the open registry', async () => {
    const response = await request(`http://${registry.plain}/v2/_catalog`);
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ repositories: expect.arrayContaining(['runnerkit-test/busybox']) });
  });

  it('lists the catalog with the right password and answers 401 to a wrong one', async () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const ok = await request(`http://${registry.auth.address}/v2/_catalog`, {
      headers: { authorization: basic(registry.auth.username, registry.auth.password) },
    });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.json()).toEqual({ repositories: expect.arrayContaining(['runnerkit-test/busybox']) });

    const wrong = await request(`http://${registry.auth.address}/v2/_catalog`, {
      headers: { authorization: basic(registry.auth.username, 'wrong-password') },
    });
    await wrong.body.dump();
    expect(wrong.statusCode).toBe(401);

    const none = await request(`http://${registry.auth.address}/v2/_catalog`);
    await none.body.dump();
    expect(none.statusCode).toBe(401);
  });
});

describeWithComponent('ssh', 'sshd', (ssh) => {
  const common = [
    '-p',
    String(ssh.port),
    '-o',
    `UserKnownHostsFile=${ssh.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
  ];

  it('logs in by key', async () => {
    const { stdout } = await run('ssh', [
      ...common,
      '-o',
      'BatchMode=yes',
      '-i',
      ssh.keyFile,
      `${ssh.keyUser}@${ssh.host}`,
      'id -un',
    ]);
    expect(stdout.trim()).toBe(ssh.keyUser);
  });

  it('logs in by password, and refuses a wrong one', async () => {
    const args = [...common, '-o', 'PubkeyAuthentication=no', `${ssh.passwordUser}@${ssh.host}`, 'id -un'];
    const { stdout } = await run('sshpass', ['-e', 'ssh', ...args], { env: { ...process.env, SSHPASS: ssh.password } });
    expect(stdout.trim()).toBe(ssh.passwordUser);
    const error = (await fails(
      run('sshpass', ['-e', 'ssh', ...args], { env: { ...process.env, SSHPASS: 'not-the-password' } }),
    )) as { code?: number };
    expect(error.code).toBe(5); // sshpass: invalid password
  });
});

describeWithComponent('s3', 's3rver', (s3) => {
  it('stores and returns an object', async () => {
    const body = `runnerkit ${Date.now()} ${Math.random()}`;
    const url = `${s3.endpoint}/${s3.bucket}/components-test/object.txt`;
    const put = await request(url, { method: 'PUT', body });
    await put.body.dump();
    expect(put.statusCode).toBe(200);
    const get = await request(url);
    expect(await get.body.text()).toBe(body);
    const del = await request(url, { method: 'DELETE' });
    await del.body.dump();
  });
});

describeWithComponent('azure', 'azurite', (azure) => {
  it('stores and returns a blob', async () => {
    const service = new BlobServiceClient(
      `${azure.endpoint}/${azure.accountName}`,
      new StorageSharedKeyCredential(azure.accountName, azure.accountKey),
    );
    const blob = service.getContainerClient(azure.container).getBlockBlobClient('components-test/blob.txt');
    const body = `runnerkit ${Date.now()}`;
    await blob.upload(body, Buffer.byteLength(body));
    const downloaded = await blob.downloadToBuffer();
    expect(downloaded.toString()).toBe(body);
    await blob.delete();
  });
});

describeWithComponent('git', 'git over HTTP', (git) => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rk-git-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  const project = () => git.repos.project!;

  it('clones with the right token', async () => {
    const url = project().url.replace('http://', `http://gitlab-ci-token:${git.token}@`);
    await run('git', ['clone', '-q', url, join(dir, 'ok')], { env });
    const { stdout } = await run('git', ['-C', join(dir, 'ok'), 'log', '--format=%s', '-1']);
    expect(stdout.trim()).toBe('second commit');
  });

  it('refuses a wrong token without printing it', async () => {
    const url = project().url.replace('http://', 'http://gitlab-ci-token:wrong-token@');
    const error = (await fails(run('git', ['clone', '-q', url, join(dir, 'bad')], { env }))) as { stderr: string };
    expect(error.stderr).toContain('Authentication failed');
    expect(error.stderr).not.toContain('wrong-token');
  });

  it('serves the same repository as a local path', async () => {
    await run('git', ['clone', '-q', project().path, join(dir, 'local')], { env });
    const { stdout } = await run('git', ['-C', join(dir, 'local'), 'tag']);
    expect(stdout.trim()).toBe('v1.0.0');
  });
});

it('scripts/test-components status reports every component up', async () => {
  const { stdout } = await run(join(repositoryRoot(), 'scripts/test-components'), ['status']);
  expect(stdout.trim().split('\n')).toEqual(
    ['docker', 'images', 'registry', 'sshd', 's3', 'azure', 'git'].map((name) =>
      expect.stringMatching(new RegExp(`^${name}\\s+up$`)),
    ),
  );
});
