import { describe, expect, it } from 'vitest';
import { artifactArchiveSettings, cacheArchiveSettings } from './archive-settings.js';
import { ArchiveError } from './errors.js';

describe('cacheArchiveSettings', () => {
  it('zip at the default level when nothing is set', () => {
    expect(cacheArchiveSettings({})).toEqual({ format: 'zip', level: 6, warnings: [] });
    expect(cacheArchiveSettings({ CACHE_COMPRESSION_FORMAT: '', CACHE_COMPRESSION_LEVEL: '' })).toEqual({
      format: 'zip',
      level: 6,
      warnings: [],
    });
  });

  it('CACHE_COMPRESSION_LEVEL names map to deflate levels for zip', () => {
    const levels = ['fastest', 'fast', 'default', 'slow', 'slowest'].map(
      (name) => cacheArchiveSettings({ CACHE_COMPRESSION_LEVEL: name }).level,
    );
    expect(levels).toEqual([1, 3, 6, 8, 9]);
  });

  it('tarzstd and zipzstd select the zstd formats with zstd levels; zipzstd stores at fastest', () => {
    const names = ['fastest', 'fast', 'default', 'slow', 'slowest'];
    const levels = (format: string) =>
      names.map((name) => cacheArchiveSettings({ CACHE_COMPRESSION_FORMAT: format, CACHE_COMPRESSION_LEVEL: name }));
    expect(levels('tarzstd').map(({ format, level }) => `${format} ${level}`)).toEqual([
      'tar.zst 1',
      'tar.zst 1',
      'tar.zst 3',
      'tar.zst 7',
      'tar.zst 11',
    ]);
    expect(levels('zipzstd').map(({ format, level }) => `${format} ${level}`)).toEqual([
      'zipzstd 0',
      'zipzstd 1',
      'zipzstd 3',
      'zipzstd 7',
      'zipzstd 11',
    ]);
    expect(cacheArchiveSettings({ CACHE_COMPRESSION_FORMAT: 'TarZstd' })).toEqual({
      format: 'tar.zst',
      level: 3,
      warnings: [],
    });
  });

  it('an unknown format falls back to zip with a warning, returned rather than printed', () => {
    expect(
      cacheArchiveSettings({ CACHE_COMPRESSION_FORMAT: 'rar', CACHE_COMPRESSION_LEVEL: 'fast' }),
    ).toMatchInlineSnapshot(`
      {
        "format": "zip",
        "level": 3,
        "warnings": [
          "CACHE_COMPRESSION_FORMAT "rar" is not supported (zip, tarzstd, zipzstd); using zip",
        ],
      }
    `);
  });

  it('an unknown level name is the default level with a warning', () => {
    expect(cacheArchiveSettings({ CACHE_COMPRESSION_LEVEL: 'ultra' })).toMatchInlineSnapshot(`
      {
        "format": "zip",
        "level": 6,
        "warnings": [
          "CACHE_COMPRESSION_LEVEL "ultra" is not one of fastest, fast, default, slow, slowest; using the default compression level",
        ],
      }
    `);
  });
});

describe('artifactArchiveSettings', () => {
  it('an empty artifact_format is zip', () => {
    for (const format of [undefined, null, '']) {
      const settings = artifactArchiveSettings(format, {});
      expect([settings.format, settings.level, settings.fileName('report')]).toEqual(['zip', 6, 'report.zip']);
    }
  });

  it('file names follow the format: .zip, .gz, .tar.zst, nothing for raw', () => {
    const names = ['zip', 'zipzstd', 'gzip', 'tarzstd', 'raw'].map((format) => {
      const settings = artifactArchiveSettings(format, {});
      return [format, settings.format, settings.fileName('dist/app')];
    });
    expect(names).toEqual([
      ['zip', 'zip', 'app.zip'],
      ['zipzstd', 'zipzstd', 'app.zip'],
      ['gzip', 'gzip', 'app.gz'],
      ['tarzstd', 'tar.zst', 'app.tar.zst'],
      ['raw', 'raw', 'app'],
    ]);
  });

  it('an empty or "." name becomes default, whatever the format', () => {
    const names = ['zip', 'gzip', 'raw', 'tarzstd'].flatMap((format) =>
      ['', '.', null, undefined, './'].map((name) => artifactArchiveSettings(format, {}).fileName(name)),
    );
    expect(new Set(names)).toEqual(new Set(['default.zip', 'default.gz', 'default', 'default.tar.zst']));
  });

  it('ARTIFACT_COMPRESSION_LEVEL sets deflate levels for zip and gzip, zstd levels for the zstd formats', () => {
    const zip = ['fastest', 'slowest'].map(
      (name) => artifactArchiveSettings('zip', { ARTIFACT_COMPRESSION_LEVEL: name }).level,
    );
    const gzip = artifactArchiveSettings('gzip', { ARTIFACT_COMPRESSION_LEVEL: 'slow' }).level;
    const zstd = artifactArchiveSettings('tarzstd', { ARTIFACT_COMPRESSION_LEVEL: 'slowest' }).level;
    expect([...zip, gzip]).toEqual([1, 9, 8]);
    expect(zstd).toBe(
      cacheArchiveSettings({ CACHE_COMPRESSION_FORMAT: 'tarzstd', CACHE_COMPRESSION_LEVEL: 'slowest' }).level,
    );
    // The cache's variable does not leak into artifacts.
    expect(artifactArchiveSettings('zip', { CACHE_COMPRESSION_LEVEL: 'fastest' }).level).toBe(6);
  });

  it('an unknown artifact_format is refused with ARCHIVE_FORMAT_UNKNOWN', () => {
    const error = (() => {
      try {
        artifactArchiveSettings('rar', {});
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as ArchiveError).code).toBe('ARCHIVE_FORMAT_UNKNOWN');
    expect((error as ArchiveError).message).toBe('unsupported archive format: rar');
  });
});
