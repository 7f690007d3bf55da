export {
  type ArchiveFormat,
  type ArtifactArchiveFormat,
  archiveStream,
  type CacheArchiveFormat,
  compressionLevel,
  type WriteArchiveOptions,
  writeArchive,
  zstdLevel,
} from './create.js';
export {
  detectArchiveFormat,
  type ExtractArchiveOptions,
  type ExtractLimits,
  type ExtractResult,
  extractArchive,
} from './extract.js';
export { type FileSelection, type SelectedEntry, type SelectFilesOptions, selectFiles } from './select.js';
export {
  createZstdCompressStream,
  createZstdDecompressStream,
  loadZstd,
  type ZstdBinding,
  type ZstdCompressOptions,
  zstdAvailable,
  zstdDecompressBuffer,
} from './zstd.js';
