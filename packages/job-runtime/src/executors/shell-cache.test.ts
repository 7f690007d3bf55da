import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource, CacheStore } from '../executor/contract.js';
import { conformancePayload, runObserved } from '../testing/conformance.js';
import { createShellExecutor } from './shell.js';
import { cacheKeyPath } from './shell-cache.js';

const root = mkdtempSync(join(tmpdir(), 'job-runtime-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** An in-memory cache port (the real adapters live in cache-adapters). */
class MemoryCacheStore implements CacheStore {
  readonly objects = new Map<string, Buffer>();
  async get(key: string): Promise<ByteSource | undefined> {
    const object = this.objects.get(key);
    return object
      ? (async function* () {
          yield object;
        })()
      : undefined;
  }
  async put(key: string, body: ByteSource): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    this.objects.set(key, Buffer.concat(chunks));
  }
}

function job(script: string[], key: string, paths: string[], when = 'on_success', policy = 'pull-push') {
  return conformancePayload(script, {
    cache: [{ key, paths, policy, when, untracked: false, fallback_keys: ['fallback-key'] }],
  });
}

describe('shell executor cache stages', () => {
  const executor = (buildsDir: string) =>
    createShellExecutor({ buildsDir: join(root, buildsDir), cacheDir: join(root, 'cache'), env: { PATH } });

  it('saves selected paths (literal and glob) and restores them in the next job', async () => {
    const first = await runObserved(
      executor('builds'),
      job(
        ['mkdir -p vendor/lib logs', 'echo dep > vendor/lib/a.txt', 'echo x > logs/1.log', 'echo y > logs/2.txt'],
        'deps-main',
        ['vendor/', 'logs/*.log'],
      ),
    );
    expect(first.result.outcome).toEqual({ status: 'success' });
    expect(first.trace).toContain('\x1b[32;1mChecking cache for deps-main...\x1b[0;m\n');
    expect(first.trace).toContain('\x1b[0;33mWARNING: Cache file does not exist\x1b[0;m\n');
    expect(first.trace).toContain('\x1b[32;1mCreating cache deps-main...\x1b[0;m\n');
    expect(first.trace).toContain('\x1b[32;1mCreated cache\x1b[0;m\n');
    const second = await runObserved(
      executor('builds-2'),
      job(['cat vendor/lib/a.txt logs/1.log', 'test ! -e logs/2.txt'], 'deps-main', ['vendor/'], 'on_success', 'pull'),
    );
    expect(second.result.outcome).toEqual({ status: 'success' });
    expect(second.trace).toContain('\x1b[32;1mSuccessfully extracted cache\x1b[0;m\n');
    expect(second.trace).toContain('\ndep\nx\n');
    expect(second.trace).toContain('Not uploading cache deps-main due to policy');
  });

  it('falls back to fallback keys, goes through the cache port, and never fails the job', async () => {
    const store = new MemoryCacheStore();
    const saved = await runObserved(
      executor('b3'),
      job(['mkdir -p out', 'echo built > out/f'], 'fallback-key', ['out']),
      {
        ports: { cache: store },
      },
    );
    expect(saved.result.outcome).toEqual({ status: 'success' });
    expect([...store.objects.keys()]).toEqual(['fallback-key']);
    rmSync(join(root, 'cache'), { recursive: true, force: true }); // only the port has it now
    const restored = await runObserved(
      executor('b4'),
      job(['cat out/f', 'exit 4'], 'missing-key', ['nothing-here'], 'always'),
      {
        ports: { cache: store },
      },
    );
    expect(restored.trace).toContain('Checking cache for missing-key...');
    expect(restored.trace).toContain('Checking cache for fallback-key...');
    expect(restored.trace).toContain('\nbuilt\n');
    expect(restored.trace).toContain('WARNING: nothing-here: no matching files.');
    expect(restored.trace).toContain('WARNING: No files to cache.');
    expect(restored.result.outcome).toMatchObject({ failureReason: 'script_failure', exitCode: 4 });
  });

  it('refuses keys that would leave the cache directory', () => {
    expect(cacheKeyPath('a/../../etc')).toBe('etc');
    expect(cacheKeyPath('..')).toBeUndefined();
    expect(cacheKeyPath('a\\b')).toBe('a/b');
  });
});
