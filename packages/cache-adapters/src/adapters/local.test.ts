import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { localCacheObjectName } from '../object-name.js';
import { describeCacheAdapter } from '../testing/conformance.js';
import { createLocalCache } from './local.js';

let cacheDir = '';

describeCacheAdapter('local directory', {
  async create() {
    cacheDir = await mkdtemp(join(tmpdir(), 'rk-local-cache-'));
    return createLocalCache({ cacheDir });
  },
  async destroy() {
    await rm(cacheDir, { recursive: true, force: true });
  },
  additionalTests({ adapter }) {
    it('writes <cache_dir>/<slug>/<key>/cache.zip with metadata.json beside it', async () => {
      const name = localCacheObjectName({ projectSlug: 'group/project', key: 'default' });
      const upload = await adapter().getUpload({ name, humanKey: 'default' });
      if (upload.type !== 'stream') throw new Error('expected a stream target');
      await upload.write(Readable.from([Buffer.from('zip bytes')]), { lastModified: new Date('2026-01-02T03:04:05Z') });
      expect(await readFile(join(cacheDir, 'group/project/default/cache.zip'), 'utf8')).toBe('zip bytes');
      expect(JSON.parse(await readFile(join(cacheDir, 'group/project/default/metadata.json'), 'utf8'))).toEqual({
        cachekey: 'default',
      });
      const download = await adapter().getDownload({ name });
      if (download.type !== 'stream') throw new Error('expected a stream target');
      expect((await download.stat())?.lastModified.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    });

    it('refuses object names outside the cache directory', async () => {
      await expect(adapter().getDownload({ name: '../outside' })).rejects.toMatchObject({
        code: 'CACHE_OBJECT_NAME_INVALID',
      });
      expect(() => createLocalCache({ cacheDir: 'relative/dir' })).toThrow(/absolute/);
    });
  },
});
