// Artifact stages of the shell executor (job-execution §8): archives are made with the host's `zip`/`gzip`
// (as GitLab's shell executor uses its helper binary on the host) and moved through the artifact port.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import picomatch from 'picomatch';
import { StageFailedError } from '../errors.js';
import type { StageHandlerContext } from '../executor/contract.js';
import type { PayloadArtifact, PayloadDependency } from '../job/payload.js';
import { selectPaths, walk } from './shell-cache.js';

function runTool(
  program: string,
  args: readonly string[],
  cwd: string,
  context: StageHandlerContext,
  stdoutFile?: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], signal: context.signal });
    const written = stdoutFile ? pipeline(child.stdout, createWriteStream(stdoutFile)) : Promise.resolve();
    if (!stdoutFile) child.stdout.on('data', (chunk: Buffer) => context.output.write(chunk, 'stdout'));
    child.stderr.on('data', (chunk: Buffer) => context.output.write(chunk, 'stderr'));
    child.on('error', (error) =>
      reject(new StageFailedError('artifacts', `cannot run ${program}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code) => {
      if (code !== 0) return reject(new StageFailedError('artifacts', `${program} exited with ${code}`));
      written.then(resolve, reject);
    });
  });
}

const EXTENSIONS: Record<string, string> = { zip: '.zip', zipzstd: '.zip', gzip: '.gz', tarzstd: '.tar.zst', raw: '' };

/** The uploaded file name: base name of the expanded `name` (empty or `.` → `default`) + the format's extension. */
export function artifactFileName(name: string, format: string): string {
  const base = posix.basename(name);
  return (base === '' || base === '.' ? 'default' : base) + (EXTENSIONS[format] ?? '');
}

export async function uploadArtifactsLocally(
  context: StageHandlerContext,
  entries: readonly PayloadArtifact[],
): Promise<void> {
  const store = context.ports.artifacts;
  if (!store) {
    context.log.warning('No artifact store was given to the runtime. Uploading artifacts is disabled.');
    return;
  }
  const { projectDir } = context.job.directories;
  const work = await mkdtemp(posix.join(tmpdir(), 'runnerkit-artifacts-'));
  try {
    for (const entry of entries) {
      context.log.info('Uploading artifacts...');
      const format = entry.artifact_format || 'zip';
      let paths = await selectPaths(
        projectDir,
        { paths: [...(entry.paths ?? [])], untracked: entry.untracked === true },
        context,
      );
      // Every file and directory, so excludes apply inside selected directories (GitLab matches each candidate).
      const expanded: string[] = [];
      for (const path of paths) {
        expanded.push(path);
        if ((await lstat(posix.join(projectDir, path))).isDirectory()) expanded.push(...(await walk(projectDir, path)));
      }
      paths = expanded;
      for (const pattern of entry.exclude ?? []) {
        const isMatch = picomatch(context.job.variables.expand(pattern), { dot: true });
        const before = paths.length;
        paths = paths.filter((path) => !isMatch(path));
        context.output.write(`${pattern}: excluded ${before - paths.length} files\n`, 'stdout');
      }
      if (paths.length === 0) continue;
      // zip appends `.zip` to names without an extension: give it one.
      const file = posix.join(work, `upload-${entries.indexOf(entry)}.${format}`);
      if (format === 'zip') await runTool('zip', ['-q', '-y', file, '--', ...paths], projectDir, context);
      else if (format === 'gzip') {
        const files: string[] = [];
        for (const path of paths) if ((await lstat(posix.join(projectDir, path))).isFile()) files.push(path);
        await runTool('gzip', ['-c', '--', ...files], projectDir, context, file);
      } else if (format === 'raw') {
        paths = paths.filter((path) => !path.endsWith('/'));
        if (paths.length !== 1) throw new StageFailedError('upload_artifacts', 'only one file can be sent as raw');
        await pipeline(createReadStream(posix.join(projectDir, paths[0]!)), createWriteStream(file));
      } else throw new StageFailedError('upload_artifacts', `unsupported artifact format ${format}`);
      const type = entry.artifact_type || 'archive';
      await store.upload(
        {
          name: artifactFileName(context.job.variables.expand(entry.name ?? ''), format),
          artifactType: type,
          artifactFormat: format,
          expireIn: entry.expire_in ?? undefined,
          body: createReadStream(file),
        },
        context.signal,
      );
      context.output.write(`Uploading artifacts as "${type}" to coordinator... ok\n`, 'stdout');
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function downloadArtifactsLocally(
  context: StageHandlerContext,
  dependencies: readonly PayloadDependency[],
): Promise<void> {
  const store = context.ports.artifacts;
  if (!store) throw new StageFailedError('download_artifacts', 'no artifact store was given to the runtime');
  const { projectDir } = context.job.directories;
  const work = await mkdtemp(posix.join(tmpdir(), 'runnerkit-artifacts-'));
  try {
    for (const dependency of dependencies) {
      context.log.info(`Downloading artifacts for ${dependency.name} (${dependency.id})...`);
      const file = posix.join(work, `dependency-${dependency.id}`);
      const body = await store.download(
        { id: dependency.id, token: dependency.token, name: dependency.name },
        context.signal,
      );
      await pipeline(Readable.from(body), createWriteStream(file));
      const handle = await open(file);
      const magic = Buffer.alloc(4);
      await handle.read(magic, 0, 4, 0);
      await handle.close();
      if (magic.readUInt32LE(0) !== 0x04034b50)
        throw new StageFailedError('download_artifacts', `artifacts of ${dependency.name} are not a zip archive`);
      await runTool('unzip', ['-o', '-q', file, '-d', projectDir], projectDir, context);
      context.output.write(`Downloading artifacts from coordinator... ok  id=${dependency.id}\n`, 'stdout');
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
