import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CacheAdapter, CacheDownload, CacheObjectRequest, CacheUpload, CacheUploadRequest } from '../adapter.js';
import { CacheConfigError, CacheKeyError } from '../errors.js';

export interface LocalCacheSettings {
  /** The runner's `cache_dir` (absolute); objects live at `<cacheDir>/<name>`. */
  cacheDir: string;
}

function fileFor(cacheDir: string, name: string): string {
  const file = resolve(cacheDir, name);
  const rel = relative(cacheDir, file);
  if (name === '' || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new CacheKeyError(
      'CACHE_OBJECT_NAME_INVALID',
      `object name ${JSON.stringify(name)} leaves the cache directory`,
    );
  }
  return file;
}

async function statFile(file: string): Promise<{ size: number; lastModified: Date } | undefined> {
  try {
    const info = await stat(file);
    return info.isFile() ? { size: info.size, lastModified: info.mtime } : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * A cache in a local directory, GitLab Runner's `cache_dir` layout: `<cacheDir>/<project slug>/<key>/cache.zip`
 * with `metadata.json` (`{"cachekey": "<human key>"}`) beside it. Writes go to a temporary file, then rename.
 */
export function createLocalCache(settings: LocalCacheSettings): CacheAdapter {
  if (!isAbsolute(settings.cacheDir)) {
    throw new CacheConfigError(
      'CACHE_CONFIG_INVALID',
      `cacheDir must be an absolute path, got ${JSON.stringify(settings.cacheDir)}`,
    );
  }
  const cacheDir = resolve(settings.cacheDir);
  return {
    kind: 'local',
    async getDownload(object: CacheObjectRequest): Promise<CacheDownload> {
      const file = fileFor(cacheDir, object.name);
      return {
        type: 'stream',
        stat: () => statFile(file),
        async open() {
          const info = await statFile(file);
          if (info === undefined) return undefined;
          return { stream: createReadStream(file), ...info };
        },
      };
    },
    async getUpload(object: CacheUploadRequest): Promise<CacheUpload> {
      const file = fileFor(cacheDir, object.name);
      return {
        type: 'stream',
        async write(body: Readable, options?: { lastModified?: Date }) {
          await mkdir(dirname(file), { recursive: true });
          const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
          try {
            await pipeline(body, createWriteStream(temporary, { flags: 'wx' }));
            if (options?.lastModified) await utimes(temporary, options.lastModified, options.lastModified);
            await rename(temporary, file);
          } catch (error) {
            await rm(temporary, { force: true });
            throw error;
          }
          if (object.humanKey !== undefined) {
            await writeFile(resolve(dirname(file), 'metadata.json'), JSON.stringify({ cachekey: object.humanKey }));
          }
        },
      };
    },
  };
}
