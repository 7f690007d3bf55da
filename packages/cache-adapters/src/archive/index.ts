export {
  type ArchiveFormat,
  type ArtifactArchiveFormat,
  archiveStream,
  type CacheArchiveFormat,
  compressionLevel,
  type WriteArchiveOptions,
  writeArchive,
} from './create.js';
export {
  detectArchiveFormat,
  type ExtractArchiveOptions,
  type ExtractLimits,
  type ExtractResult,
  extractArchive,
} from './extract.js';
export { type FileSelection, type SelectedEntry, type SelectFilesOptions, selectFiles } from './select.js';
