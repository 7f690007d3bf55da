// Caches and artifacts handled runner-side over the SSH connection: the local cache lives in cache_dir on the
// remote host, a shared cache goes through the cache port, artifacts are collected from the remote host and
// uploaded (and downloaded into later jobs) through the artifact port.
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { extractArchive } from '@runnerkit/cache-adapters/archive';
import type { ArtifactStore, ArtifactUpload, ByteSource, CacheStore } from '@runnerkit/job-runtime';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { job, remote, testContext } from './test-support/ssh.js';

const context = testContext('files');
const RUNNER = { url: 'http://127.0.0.1:1' };

async function collect(body: ByteSource): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
async function* bytes(buffer: Buffer): ByteSource {
  yield buffer;
}

class MemoryArtifacts implements ArtifactStore {
  readonly uploads = new Map<string, Omit<ArtifactUpload, 'body'> & { bytes: Buffer }>();
  async upload(artifact: ArtifactUpload): Promise<void> {
    const { body, ...rest } = artifact;
    this.uploads.set(artifact.name, { ...rest, bytes: await collect(body) });
  }
  async download(dependency: { name: string }): Promise<ByteSource> {
    const found = this.uploads.get(`${dependency.name}.zip`);
    if (!found) throw new Error(`no artifacts for ${dependency.name}`);
    return bytes(found.bytes);
  }
}

class MemoryCache implements CacheStore {
  readonly objects = new Map<string, Buffer>();
  async get(key: string): Promise<ByteSource | undefined> {
    const found = this.objects.get(key);
    return found ? bytes(found) : undefined;
  }
  async put(key: string, body: ByteSource): Promise<void> {
    this.objects.set(key, await collect(body));
  }
}

const projectDir = () => `${context.absoluteRoot}/builds/conforman/0/group/project`;
const cacheEntry = { key: 'rk-key', paths: ['out/'], policy: 'pull-push', when: 'on_success', untracked: false };
const artifactEntry = {
  name: 'bundle',
  paths: ['out/'],
  exclude: ['out/**/*.log'],
  when: 'on_success',
  artifact_type: 'archive',
  artifact_format: 'zip',
};
const producer = ['mkdir -p out/sub', 'echo one > out/sub/a.txt', 'echo noise > out/sub/skip.log', 'echo top > b.txt'];

describe('cache and artifacts over SSH', () => {
  it('archives the cache into cache_dir on the remote host and restores it into a later job', async () => {
    const first = await runObserved(context.executor(), job(producer, { cache: [cacheEntry] }));
    expect(first.result.outcome).toEqual({ status: 'success' });
    expect(first.trace).toContain('Created cache');
    expect(await remote(context.ssh, `cd ${context.root}/cache/group/project/rk-key && ls`)).toBe(
      'cache.zip\nmetadata.json\n',
    );
    await remote(context.ssh, `rm -rf ${projectDir()}/out`);
    const second = await runObserved(context.executor(), job(['cat out/sub/a.txt'], { cache: [cacheEntry] }));
    expect(second.result.outcome).toEqual({ status: 'success' });
    expect(second.trace).toContain('Successfully extracted cache');
    expect(second.trace).toContain('\none\n');
  });

  it('uses the shared cache port when one is given', async () => {
    const cache = new MemoryCache();
    const entry = { ...cacheEntry, key: 'shared-key' };
    const first = await runObserved(context.executor(), job(producer, { cache: [entry] }), { ports: { cache } });
    expect(first.result.outcome).toEqual({ status: 'success' });
    expect([...cache.objects.keys()]).toEqual(['shared-key']);
    await remote(context.ssh, `rm -rf ${projectDir()}/out ${context.root}/cache/group/project/shared-key`);
    const second = await runObserved(context.executor(), job(['cat out/sub/a.txt'], { cache: [entry] }), {
      ports: { cache },
    });
    expect(second.trace).toContain('\none\n');
  });

  it('collects artifacts from the remote host, uploads them, and downloads them into a dependent job', async () => {
    const artifacts = new MemoryArtifacts();
    const first = await runObserved(
      context.executor(),
      job(producer, { artifacts: [artifactEntry] }),
      { ports: { artifacts } },
      RUNNER,
    );
    expect(first.result.outcome).toEqual({ status: 'success' });
    const upload = artifacts.uploads.get('bundle.zip');
    expect(upload).toMatchObject({ artifactType: 'archive', artifactFormat: 'zip' });
    const file = join(context.workDir, 'bundle.zip');
    await writeFile(file, upload!.bytes);
    await extractArchive({ file, target: join(context.workDir, 'bundle') });
    expect(readFileSync(join(context.workDir, 'bundle/out/sub/a.txt'), 'utf8')).toBe('one\n');
    expect(() => readFileSync(join(context.workDir, 'bundle/out/sub/skip.log'))).toThrow();

    await remote(context.ssh, `rm -rf ${projectDir()}/out`);
    const second = await runObserved(
      context.executor(),
      job(['cat out/sub/a.txt'], {
        dependencies: [
          { id: 1, token: 'dep-token', name: 'bundle', artifacts_file: { filename: 'bundle.zip', size: 1 } },
        ],
      }),
      { ports: { artifacts } },
      RUNNER,
    );
    expect(second.result.outcome).toEqual({ status: 'success' });
    expect(second.trace).toContain('Downloading artifacts for bundle (1)...');
    expect(second.trace).toContain('\none\n');
  });
});
