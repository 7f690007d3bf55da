// CACHE_COMPRESSION_* and ARTIFACT_COMPRESSION_LEVEL reach the archives the executor writes (cache-adapters'
// cacheArchiveSettings / artifactArchiveSettings): a real job in a real container, the archives caught by
// in-memory ports.
import type { ArtifactStore, ArtifactUpload, ByteSource, CacheStore } from '@runnerkit/job-runtime';
import { runObserved } from '@runnerkit/job-runtime/testing';
import { describe, expect, it } from 'vitest';
import { job, testContext, variables } from './test-support/docker.js';

const context = testContext('compression');
const RUNNER = { ...context.runner, url: 'http://127.0.0.1:1' };

async function collect(body: ByteSource): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
async function* bytes(buffer: Buffer): ByteSource {
  yield buffer;
}

class MemoryStores implements CacheStore, ArtifactStore {
  readonly objects = new Map<string, Buffer>();
  readonly uploads: (Omit<ArtifactUpload, 'body'> & { bytes: Buffer })[] = [];
  async get(key: string): Promise<ByteSource | undefined> {
    const found = this.objects.get(key);
    return found ? bytes(found) : undefined;
  }
  async put(key: string, body: ByteSource): Promise<void> {
    this.objects.set(key, await collect(body));
  }
  async upload(artifact: ArtifactUpload): Promise<void> {
    const { body, ...rest } = artifact;
    this.uploads.push({ ...rest, bytes: await collect(body) });
  }
  async download(): Promise<ByteSource> {
    throw new Error('not used');
  }
}

/** Entry name → compression method, from a zip's central directory headers. */
function zipMethods(zip: Buffer): Record<string, number> {
  const methods: Record<string, number> = {};
  for (let at = zip.indexOf('PK\x01\x02', 0, 'latin1'); at !== -1; at = zip.indexOf('PK\x01\x02', at + 4, 'latin1')) {
    const nameLength = zip.readUInt16LE(at + 28);
    methods[zip.toString('utf8', at + 46, at + 46 + nameLength)] = zip.readUInt16LE(at + 10);
  }
  return methods;
}

// Compressible but not trivial: deflate level 1 and level 9 differ clearly on it.
const producer = [
  'mkdir -p out',
  `seq 1 6000 | awk '{ print "line " $1 " of the cache " ($1 * $1) % 977 " value " $1 % 13 }' > out/lines.txt`,
];
const cacheEntry = (key: string) => ({ key, paths: ['out/'], policy: 'push', when: 'on_success' });
const artifactEntry = { name: '.', paths: ['out/'], when: 'on_success', artifact_type: 'archive', artifact_format: '' };

async function run(key: string, extra: Record<string, string>) {
  const stores = new MemoryStores();
  const observed = await runObserved(
    context.executor(),
    job(producer, { cache: [cacheEntry(key)], artifacts: [artifactEntry], variables: variables(extra) }),
    { ports: { cache: stores, artifacts: stores } },
    RUNNER,
  );
  expect(observed.result.outcome).toEqual({ status: 'success' });
  return { trace: observed.trace, cache: stores.objects.get(key), uploads: stores.uploads };
}

describe('compression settings in the Docker executor', () => {
  it('CACHE_COMPRESSION_LEVEL and ARTIFACT_COMPRESSION_LEVEL change the archives; unknown names warn', async () => {
    const fastest = await run('rk-fastest', {
      CACHE_COMPRESSION_LEVEL: 'fastest',
      ARTIFACT_COMPRESSION_LEVEL: 'fastest',
      CACHE_COMPRESSION_FORMAT: 'rar',
    });
    const slowest = await run('rk-slowest', {
      CACHE_COMPRESSION_LEVEL: 'slowest',
      ARTIFACT_COMPRESSION_LEVEL: 'slowest',
    });
    for (const result of [fastest, slowest]) {
      expect(result.cache?.subarray(0, 2).toString('latin1')).toBe('PK');
      expect(result.uploads.map(({ name, artifactFormat }) => [name, artifactFormat])).toEqual([
        ['default.zip', 'zip'],
      ]);
    }
    expect(fastest.trace).toContain(
      'WARNING: CACHE_COMPRESSION_FORMAT "rar" is not supported (zip, tarzstd, zipzstd); using zip',
    );
    expect(slowest.trace).not.toContain('WARNING: CACHE_COMPRESSION');
    const sizes = {
      cache: [fastest.cache?.length ?? 0, slowest.cache?.length ?? 0],
      artifact: [fastest.uploads[0]?.bytes.length ?? 0, slowest.uploads[0]?.bytes.length ?? 0],
    };
    expect(sizes.cache[0]).toBeGreaterThan((sizes.cache[1] ?? 0) * 1.1);
    expect(sizes.artifact[0]).toBeGreaterThan((sizes.artifact[1] ?? 0) * 1.1);
  });

  it('an archive above MaxUploadedArchiveSize is kept locally: the message, then Created cache', async () => {
    const message = 'Cache archive size (9999) is too big (Limit is set to 10). Cache will be stored only locally.';
    // What apps/runner's cache store throws for it (RunnerCacheError, code RUNNER_CACHE_ARCHIVE_TOO_BIG).
    const limited: CacheStore = {
      async get() {
        return undefined;
      },
      async put(_key, body) {
        await collect(body);
        throw Object.assign(new Error(message), { code: 'RUNNER_CACHE_ARCHIVE_TOO_BIG' });
      },
    };
    const observed = await runObserved(
      context.executor(),
      job(producer, { cache: [cacheEntry('rk-limited')] }),
      { ports: { cache: limited } },
      RUNNER,
    );
    expect(observed.result.outcome).toEqual({ status: 'success' });
    expect(observed.trace).toContain(`${message}\n`);
    expect(observed.trace).toContain('Created cache');
    expect(observed.trace).not.toContain('Failed to create cache');
  });

  it('tarzstd and zipzstd: a zstd cache.zip and zstd artifacts with their file names', async () => {
    const stores = new MemoryStores();
    const zstdArtifacts = [
      { ...artifactEntry, name: 'bundle', artifact_format: 'tarzstd' },
      { ...artifactEntry, name: 'zipped', artifact_format: 'zipzstd' },
    ];
    const observed = await runObserved(
      context.executor(),
      job(producer, {
        cache: [cacheEntry('rk-tarzstd')],
        artifacts: zstdArtifacts,
        variables: variables({ CACHE_COMPRESSION_FORMAT: 'tarzstd', ARTIFACT_COMPRESSION_LEVEL: 'slow' }),
      }),
      { ports: { cache: stores, artifacts: stores } },
      RUNNER,
    );
    expect(observed.result.outcome).toEqual({ status: 'success' });
    expect(observed.trace).not.toContain('WARNING');
    const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    expect(stores.objects.get('rk-tarzstd')?.subarray(0, 4)).toEqual(zstdMagic);
    expect(
      stores.uploads.map(({ name, artifactFormat, bytes }) => [name, artifactFormat, bytes.subarray(0, 4)]),
    ).toEqual([
      ['bundle.tar.zst', 'tarzstd', zstdMagic],
      ['zipped.zip', 'zipzstd', Buffer.from('PK\x03\x04', 'latin1')],
    ]);
    // The file entry is compressed with zstd: method 93 in its central directory header.
    expect(zipMethods(stores.uploads[1]?.bytes ?? Buffer.alloc(0))).toEqual({ 'out/': 0, 'out/lines.txt': 93 });
    // The next job restores the tarzstd cache (detected by its magic bytes).
    const restored = await runObserved(
      context.executor(),
      job(['wc -l < out/lines.txt', 'tail -n 1 out/lines.txt'], {
        cache: [{ key: 'rk-tarzstd', paths: ['out/'], policy: 'pull', when: 'on_success' }],
        variables: variables({ CACHE_COMPRESSION_FORMAT: 'tarzstd' }),
      }),
      { ports: { cache: stores, artifacts: stores } },
      RUNNER,
    );
    expect(restored.result.outcome).toEqual({ status: 'success' });
    expect(restored.trace).toContain('Successfully extracted cache');
    expect(restored.trace).toMatch(/\n *6000\n/);
    expect(restored.trace).toContain('line 6000 of the cache');
  });
});
