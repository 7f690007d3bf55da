import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KNOWN_ARTIFACT_TYPES } from '@runnerkit/job-spec';
import busboy from 'busboy';
import type { CoordinatorCore } from './core.js';
import { header, sendJson, sendMessage, sendText } from './http.js';
import { authenticateJob } from './runner-api.js';
import type { ArtifactRecord, JobRecord } from './state.js';
import { randomText } from './tokens.js';

const ACCEPTED_FORMATS = ['raw', 'zip', 'gzip'];

interface ReceivedFile {
  filename: string;
  size: number;
  sha256: string;
  path: string;
  tooLarge: boolean;
}

export function artifactsDirectory(core: CoordinatorCore): string {
  return join(core.artifactsRoot, 'artifacts');
}

// POST /api/v4/jobs/:id/artifacts (api-spec §8.1)
export async function uploadArtifacts(
  core: CoordinatorCore,
  request: IncomingMessage,
  query: URLSearchParams,
  jobId: number,
  response: ServerResponse,
): Promise<void> {
  const fields = new Map<string, string>();
  const directory = artifactsDirectory(core);
  mkdirSync(directory, { recursive: true });
  let received: ReceivedFile | undefined;
  const writes: Promise<void>[] = [];
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: request.headers, limits: { files: 1, fields: 20 } });
  } catch {
    request.resume();
    return sendJson(response, 400, { error: 'file is missing' });
  }
  parser.on('field', (name, value) => fields.set(name, value));
  parser.on('file', (name, stream, info) => {
    if (name !== 'file' || received) {
      stream.resume();
      return;
    }
    const path = join(directory, `${jobId}-${Date.now()}-${randomText(8)}.part`);
    const file: ReceivedFile = { filename: info.filename ?? 'artifacts', size: 0, sha256: '', path, tooLarge: false };
    received = file;
    const hash = createHash('sha256');
    stream.on('data', (chunk: Buffer) => {
      file.size += chunk.length;
      hash.update(chunk);
      if (file.size > core.options.maxArtifactSizeBytes) file.tooLarge = true;
    });
    writes.push(
      pipeline(stream, createWriteStream(path)).then(() => {
        file.sha256 = hash.digest('hex');
      }),
    );
  });
  try {
    await pipeline(request, parser);
    await Promise.all(writes);
  } catch {
    if (received) rmSync(received.path, { force: true });
    if (!response.headersSent && !response.destroyed) sendJson(response, 400, { error: 'file is missing' });
    return;
  }
  const token = header(request, 'job-token') ?? query.get('token') ?? fields.get('token');
  const job = authenticateJob(core, jobId, token, response);
  const discard = () => {
    if (received) rmSync(received.path, { force: true });
  };
  if (!job) return discard();
  const type = query.get('artifact_type') ?? fields.get('artifact_type') ?? 'archive';
  const format = query.get('artifact_format') ?? fields.get('artifact_format') ?? 'zip';
  const expireIn = query.get('expire_in') ?? fields.get('expire_in') ?? null;
  if (!(KNOWN_ARTIFACT_TYPES as readonly string[]).includes(type)) {
    discard();
    return sendJson(response, 400, { error: 'artifact_type does not have a valid value' });
  }
  if (!ACCEPTED_FORMATS.includes(format)) {
    discard();
    return sendJson(response, 400, { error: 'artifact_format does not have a valid value' });
  }
  if (!received) return sendJson(response, 400, { error: 'file is missing' });
  if (received.tooLarge) {
    discard();
    return sendMessage(response, 413, 'file size has reached maximum size limit');
  }
  const existing = job.artifacts.find((artifact) => artifact.artifactType === type);
  if (existing) {
    discard();
    if (existing.sha256 === received.sha256) return sendText(response, 201, '201');
    return sendMessage(response, 400, 'another artifact of the same type already exists');
  }
  const file = `${job.id}-${type}-${randomText(8)}`;
  renameSync(received.path, join(directory, file));
  const record: ArtifactRecord = {
    artifactType: type,
    artifactFormat: format,
    expireIn,
    filename: received.filename,
    size: received.size,
    sha256: received.sha256,
    file,
  };
  job.artifacts.push(record);
  core.store.changed();
  sendText(response, 201, '201');
}

/** A job's artifact file of a type (`archive` by default). */
export function findArtifact(job: JobRecord, type = 'archive'): ArtifactRecord | undefined {
  return job.artifacts.find((artifact) => artifact.artifactType === type);
}

export function streamArtifact(core: CoordinatorCore, artifact: ArtifactRecord, response: ServerResponse) {
  const name = artifact.filename.replace(/["\\]/g, '_');
  response.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(artifact.filename)}`,
    'Content-Transfer-Encoding': 'binary',
    'Content-Length': String(artifact.size),
  });
  createReadStream(join(artifactsDirectory(core), artifact.file))
    .on('error', (error) => response.destroy(error))
    .pipe(response);
}

// GET /api/v4/jobs/:id/artifacts (api-spec §8.2)
export function downloadArtifacts(
  core: CoordinatorCore,
  request: IncomingMessage,
  query: URLSearchParams,
  jobId: number,
  response: ServerResponse,
) {
  const token = header(request, 'job-token') ?? query.get('job_token') ?? query.get('token') ?? undefined;
  const reader = token ? core.store.findJobByToken(token) : undefined;
  if (!reader) return sendMessage(response, 401, '401 Unauthorized');
  const readerActive = ['running', 'canceling'].includes(reader.status) || reader.status === 'pending';
  const target = core.store.jobs.get(jobId);
  if (!readerActive || (target && target.projectId !== reader.projectId)) {
    return sendMessage(response, 403, '403 Forbidden');
  }
  const artifact = target ? findArtifact(target) : undefined;
  if (!artifact) return sendMessage(response, 404, '404 Not Found');
  streamArtifact(core, artifact, response);
}
