export { type CacheAdapterSuiteOptions, describeCacheAdapter } from './conformance.js';
