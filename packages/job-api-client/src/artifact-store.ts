import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactFormat } from './artifacts.js';
import type { JobApiClient } from './client.js';

/** What the runtime hands over for one upload (structurally job-runtime's `ArtifactUpload`). */
export interface ArtifactStoreUpload {
  /** File name as uploaded (`default.zip`, `junit.xml.gz`). */
  name: string;
  artifactType: string;
  artifactFormat: string;
  expireIn?: string | undefined;
  body: AsyncIterable<Uint8Array>;
}

/** job-runtime's `ArtifactStore` port, bound to one job. */
export interface JobArtifactStore {
  download(
    dependency: { id: number; token: string; name: string },
    signal?: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array>>;
  upload(artifact: ArtifactStoreUpload, signal?: AbortSignal): Promise<void>;
}

export interface JobArtifactStoreOptions {
  jobId: number;
  jobToken: string;
  /** Where uploads are spooled (bodies must be re-sendable) and downloads land; default the OS temp dir. */
  temporaryDirectory?: string;
}

/**
 * Adapts the client to job-runtime's artifact port: one-pass bodies are spooled to a temporary file so retries
 * can send them again; downloads are streamed to a temporary file and read back once (then removed).
 */
export function createJobArtifactStore(client: JobApiClient, options: JobArtifactStoreOptions): JobArtifactStore {
  const base = options.temporaryDirectory ?? tmpdir();
  return {
    async upload(artifact, signal) {
      const dir = await mkdtemp(join(base, 'runnerkit-artifact-'));
      try {
        const path = join(dir, 'upload');
        await pipeline(Readable.from(artifact.body), createWriteStream(path), signal ? { signal } : {});
        await client.uploadArtifact({
          jobId: options.jobId,
          jobToken: options.jobToken,
          source: { path },
          filename: artifact.name,
          format: artifact.artifactFormat as ArtifactFormat,
          type: artifact.artifactType,
          expireIn: artifact.expireIn ?? null,
          ...(signal ? { signal } : {}),
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async download(dependency, signal) {
      const dir = await mkdtemp(join(base, 'runnerkit-dependency-'));
      const destination = join(dir, `${dependency.id}-${randomBytes(4).toString('hex')}`);
      try {
        await client.downloadArtifact({
          jobId: dependency.id,
          jobToken: dependency.token,
          destination,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      return (async function* read() {
        try {
          for await (const chunk of createReadStream(destination)) yield chunk as Buffer;
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })();
    },
  };
}
