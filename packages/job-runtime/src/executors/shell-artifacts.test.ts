import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArtifactStore, ArtifactUpload, ByteSource } from '../executor/contract.js';
import { conformancePayload, runObserved } from '../testing/conformance.js';
import { createShellExecutor } from './shell.js';
import { artifactFileName } from './shell-artifacts.js';

const root = mkdtempSync(join(tmpdir(), 'job-runtime-artifacts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** An in-memory artifact port (job-api-client's store talks to GitLab instead). */
class MemoryArtifactStore implements ArtifactStore {
  readonly uploads: (Omit<ArtifactUpload, 'body'> & { bytes: Buffer })[] = [];
  failUploads = false;
  async upload(artifact: ArtifactUpload): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of artifact.body) chunks.push(chunk);
    if (this.failUploads) throw new Error('POST /api/v4/jobs/4242/artifacts: 500 Internal Server Error');
    const { body: _body, ...rest } = artifact;
    this.uploads.push({ ...rest, bytes: Buffer.concat(chunks) });
  }
  async download(dependency: { id: number }): Promise<ByteSource> {
    const bytes = this.uploads[dependency.id]?.bytes ?? Buffer.alloc(0);
    return (async function* () {
      yield bytes;
    })();
  }
}

const executor = (dir: string) =>
  createShellExecutor({ buildsDir: join(root, dir), cacheDir: join(root, 'cache'), env: { PATH } });
const runner = { url: 'http://127.0.0.1:9' };

describe('shell executor artifact stages', () => {
  it('zips the selected paths minus excludes, uploads them, and a later job downloads them', async () => {
    const store = new MemoryArtifactStore();
    const build = conformancePayload(
      ['mkdir -p dist/sub', 'echo app > dist/app.js', 'echo m > dist/app.map', 'echo s > dist/sub/s.js'],
      {
        artifacts: [
          {
            name: 'my-$CI_JOB_ID',
            paths: ['dist/'],
            exclude: ['dist/*.map'],
            when: 'on_success',
            artifact_type: 'archive',
            artifact_format: 'zip',
            expire_in: '1 day',
          },
          {
            name: 'failure-only',
            paths: ['dist/'],
            when: 'on_failure',
            artifact_type: 'archive',
            artifact_format: 'zip',
          },
        ],
      },
    );
    const built = await runObserved(executor('b1'), build, { ports: { artifacts: store } }, runner);
    expect(built.result.outcome).toEqual({ status: 'success' });
    expect(built.trace).toMatch(
      /section_start:\d+:upload_artifacts_on_success\r\x1b\[0K\x1b\[0K\x1b\[36;1mUploading artifacts for successful job/,
    );
    expect(store.uploads.map(({ bytes: _bytes, ...rest }) => rest)).toEqual([
      { name: 'my-4242.zip', artifactType: 'archive', artifactFormat: 'zip', expireIn: '1 day' },
    ]);
    const zip = join(root, 'uploaded.zip');
    writeFileSync(zip, store.uploads[0]!.bytes);
    const listing = execFileSync('unzip', ['-Z1', zip]).toString().split('\n').filter(Boolean).sort();
    expect(listing).toEqual(['dist/', 'dist/app.js', 'dist/sub/', 'dist/sub/s.js']);

    const test = conformancePayload(['cat dist/app.js dist/sub/s.js'], {
      dependencies: [
        { id: 0, name: 'build', token: 'dep-token', artifacts_file: { filename: 'my-4242.zip', size: 1 } },
      ],
    });
    const tested = await runObserved(executor('b2'), test, { ports: { artifacts: store } }, runner);
    expect(tested.trace).toContain('\x1b[32;1mDownloading artifacts for build (0)...\x1b[0;m\n');
    expect(tested.trace).toContain('\napp\ns\n');
    expect(tested.result.outcome).toEqual({ status: 'success' });
  });

  it('an upload failure fails the job; a download failure stops it before the script', async () => {
    const store = new MemoryArtifactStore();
    store.failUploads = true;
    const payload = conformancePayload(['echo x > out.txt'], {
      artifacts: [{ paths: ['out.txt'], when: 'always', artifact_type: 'archive', artifact_format: 'zip' }],
    });
    const failed = await runObserved(executor('b3'), payload, { ports: { artifacts: store } }, runner);
    // As GitLab's failing helper: the stage fails the job as a script failure.
    expect(failed.result.outcome).toEqual({
      status: 'failed',
      failureReason: 'script_failure',
      message: 'POST /api/v4/jobs/4242/artifacts: 500 Internal Server Error',
    });
    const broken = await runObserved(
      executor('b4'),
      conformancePayload(['echo never-runs'], {
        dependencies: [{ id: 5, name: 'gone', token: 't', artifacts_file: { filename: 'a.zip', size: 1 } }],
      }),
      { ports: { artifacts: store } },
      runner,
    );
    expect(broken.trace).not.toContain('\nnever-runs\n');
    expect(broken.result.outcome).toEqual({
      status: 'failed',
      failureReason: 'script_failure',
      message: 'artifacts of gone are not a zip archive',
    });
  });

  it('names uploads as GitLab Runner does', () => {
    expect(artifactFileName('', 'zip')).toBe('default.zip');
    expect(artifactFileName('.', 'zip')).toBe('default.zip');
    expect(artifactFileName('a/b/report', 'gzip')).toBe('report.gz');
    expect(artifactFileName('bin', 'raw')).toBe('bin');
  });
});
