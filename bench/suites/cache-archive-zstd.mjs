// zstd archives (CACHE_COMPRESSION_FORMAT=tarzstd / zipzstd) at the default level: writeArchive's tar.zst against
// GNU tar piped through the zstd CLI at the same level and thread count, and zipzstd against our default deflate
// zip; the decompression stream against `zstd -d`; plus each archive's size. Full run: 4 000 files, ~40 MB; --quick: 800 files, ~8 MB (unique text).
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  createZstdCompressStream,
  createZstdDecompressStream,
  selectFiles,
  writeArchive,
  zstdLevel,
} from '../../packages/cache-adapters/dist/archive.js';
import { compare, quick, record } from '../lib/ab.mjs';

const run = promisify(execFile);
const files = quick ? 800 : 4_000;
const totalBytes = quick ? 8e6 : 40e6;
const base = join(tmpdir(), `rk-bench-cache-zstd-${process.pid}`);
const tree = join(base, 'tree');

let seed = 11;
const random = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const words = ['cache', 'runner', 'archive', 'zstd', 'frame', 'object', 'project', 'key', 'job', 'stage'];
function content(size) {
  const parts = [];
  let length = 0;
  while (length < size) {
    const part = random() < 0.7 ? words[Math.floor(random() * words.length)] : Math.floor(random() * 1e9).toString(36);
    parts.push(part);
    length += part.length + 1;
  }
  return parts.join(' ').slice(0, size);
}

try {
  for (let i = 0; i < files; i++) {
    const dir = join(tree, `d${i % 40}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), content(Math.floor((totalBytes / files) * (0.2 + 1.6 * random()))));
  }
  const { entries } = await selectFiles({ root: tree, paths: ['.'] });
  const level = zstdLevel('default');
  // writeArchive gives zstd up to four worker threads; the CLI gets the same.
  const threads = Math.max(1, Math.min(4, availableParallelism()));
  const ours = (format, name, archiveLevel) => {
    const output = join(base, name);
    return {
      name: `writeArchive ${format} level ${archiveLevel}`,
      output,
      run: () => writeArchive({ root: tree, entries, format, level: archiveLevel, output }),
    };
  };
  const tarZst = ours('tar.zst', 'ours.tar.zst', level);
  const gnuOutput = join(base, 'gnu.tar.zst');
  const gnu = {
    name: `tar -I 'zstd -${level} -T${threads}'`,
    output: gnuOutput,
    run: () => run('tar', ['-I', `zstd -q -${level} -T${threads}`, '-cf', gnuOutput, '-C', tree, '.']),
  };
  await compare({
    name: `cache-archive-zstd: tar.zst archive vs GNU tar | zstd -${level} (${files} files)`,
    candidate: tarZst,
    baseline: gnu,
  });
  // The compression alone, on the same tar bytes: the binding's stream against the zstd CLI.
  const plainTar = join(base, 'plain.tar');
  await run('tar', ['-cf', plainTar, '-C', tree, '.']);
  await compare({
    name: `cache-archive-zstd: zstd stream vs zstd CLI on one ${(statSync(plainTar).size / 1e6).toFixed(0)} MB tar, level ${level}, ${threads} threads`,
    candidate: {
      name: 'createZstdCompressStream',
      run: async () =>
        pipeline(
          createReadStream(plainTar, { highWaterMark: 1024 * 1024 }),
          await createZstdCompressStream(level, { workers: threads }),
          createWriteStream(join(base, 'stream.zst')),
        ),
    },
    baseline: {
      name: 'zstd CLI',
      run: () => run('zstd', ['-q', '-f', `-${level}`, `-T${threads}`, plainTar, '-o', join(base, 'cli.zst')]),
    },
  });
  // Reading back: the decompression stream (with its read-paced output) against `zstd -dc`, both to a file.
  await compare({
    name: 'cache-archive-zstd: zstd decompression stream vs zstd -d on the same tar.zst',
    candidate: {
      name: 'createZstdDecompressStream',
      run: async () =>
        pipeline(
          createReadStream(gnuOutput, { highWaterMark: 1024 * 1024 }),
          await createZstdDecompressStream(),
          createWriteStream(join(base, 'stream.tar')),
        ),
    },
    baseline: {
      name: 'zstd -d',
      run: () => run('zstd', ['-q', '-d', '-f', gnuOutput, '-o', join(base, 'cli.tar')]),
    },
  });
  const zipZstd = ours('zipzstd', 'ours-zstd.zip', level);
  const zip = ours('zip', 'ours.zip', 6);
  await compare({
    name: `cache-archive-zstd: zipzstd (level ${level}) vs zip deflate 6 archive (${files} files)`,
    candidate: zipZstd,
    baseline: zip,
  });
  const sizes = Object.fromEntries([tarZst, gnu, zipZstd, zip].map((side) => [side.name, statSync(side.output).size]));
  record({
    name: 'cache-archive-zstd: archive sizes',
    sizes,
    note: `tar.zst ${(sizes[tarZst.name] / sizes[gnu.name]).toFixed(3)}× GNU's; zipzstd ${(sizes[zipZstd.name] / sizes[zip.name]).toFixed(3)}× deflate zip (${sizes[zip.name]} bytes)`,
  });
} finally {
  rmSync(base, { recursive: true, force: true });
}
