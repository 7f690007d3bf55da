// Cache archives: archive + extract of a many-file tree with @runnerkit/cache-adapters vs GNU tar + gzip (same
// level, 6) and vs Info-ZIP zip/unzip (level 6), alternating rounds; plus the peak RSS of one archive + extract in a
// fresh process. Full run: 20 000 files, ~200 MB. --quick: 2 000 files, ~20 MB.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractArchive, selectFiles, writeArchive } from '../../packages/cache-adapters/dist/archive.js';
import { compare, quick, record } from '../lib/ab.mjs';

const LEVEL = 6;

async function archiveAndExtract(root, work, format) {
  const file = join(work, `ours.${format}`);
  const out = join(work, `ours-out-${format}`);
  rmSync(out, { recursive: true, force: true });
  const { entries } = await selectFiles({ root, paths: ['.'] });
  await writeArchive({ root, entries, format, level: LEVEL, output: file });
  await extractArchive({ file, target: out });
}

// Child mode: one archive + extract, then report this process's peak RSS.
if (process.argv[2] === '--child') {
  const [, , , root, work, format] = process.argv;
  await archiveAndExtract(root, work, format);
  process.stdout.write(String(process.resourceUsage().maxRSS));
  process.exit(0);
}

const files = quick ? 2_000 : 20_000;
const totalBytes = quick ? 20e6 : 200e6;
const base = join(tmpdir(), `rk-bench-cache-${process.pid}`);
const tree = join(base, 'tree');
const work = join(base, 'work');

// Deterministic, moderately compressible content (words from a small vocabulary plus random tokens), sizes 1–19 kB.
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const words =
  'const let function return import export default async await value result error cache archive entry path'.split(' ');
function content(size) {
  const parts = [];
  let length = 0;
  while (length < size) {
    const word = random() < 0.7 ? words[Math.floor(random() * words.length)] : Math.floor(random() * 1e9).toString(36);
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(random() < 0.5 ? ' ' : '\n').slice(0, size);
}

mkdirSync(work, { recursive: true });
const average = totalBytes / files;
let written = 0;
for (let i = 0; i < files; i++) {
  const dir = join(tree, `dir${i % 50}`, `sub${i % 7}`);
  if (i < 350) mkdirSync(dir, { recursive: true });
  const size = Math.max(64, Math.floor(average * (0.1 + 1.8 * random())));
  writeFileSync(join(dir, `file${i}.txt`), content(size));
  written += size;
}
process.stdout.write(`tree: ${files} files, ${(written / 1e6).toFixed(0)} MB in ${tree}\n`);

function sh(command) {
  const result = spawnSync('sh', ['-c', command], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${command} exited ${result.status}`);
}

// Full size: three rounds without warm-up keep one run near a quarter of an hour on 2 shared cores.
const rounds = 3;
const warmup = quick ? 1 : 0;
try {
  await compare({
    name: 'cache-adapters: zip archive+extract vs GNU tar -czf/-xzf (gzip -6)',
    candidate: { name: 'runnerkit zip', run: () => archiveAndExtract(tree, work, 'zip') },
    baseline: {
      name: 'tar+gzip',
      run: () =>
        sh(
          `rm -rf ${work}/tar-out && mkdir ${work}/tar-out && GZIP=-${LEVEL} tar -czf ${work}/gnu.tar.gz -C ${tree} . && tar -xzf ${work}/gnu.tar.gz -C ${work}/tar-out`,
        ),
    },
    rounds,
    warmup,
    goal: 1.0,
  });
  await compare({
    name: 'cache-adapters: tar.gz archive+extract vs GNU tar -czf/-xzf (gzip -6)',
    candidate: { name: 'runnerkit tar.gz', run: () => archiveAndExtract(tree, work, 'tar.gz') },
    baseline: {
      name: 'tar+gzip',
      run: () =>
        sh(
          `rm -rf ${work}/tar-out && mkdir ${work}/tar-out && GZIP=-${LEVEL} tar -czf ${work}/gnu.tar.gz -C ${tree} . && tar -xzf ${work}/gnu.tar.gz -C ${work}/tar-out`,
        ),
    },
    rounds,
    warmup,
    goal: 1.0,
  });
  await compare({
    name: 'cache-adapters: zip archive+extract vs Info-ZIP zip -6 / unzip',
    candidate: { name: 'runnerkit zip', run: () => archiveAndExtract(tree, work, 'zip') },
    baseline: {
      name: 'zip/unzip',
      run: () =>
        sh(
          `rm -rf ${work}/zip-out ${work}/info.zip && cd ${tree} && zip -q -r -y -${LEVEL} ${work}/info.zip . && unzip -q ${work}/info.zip -d ${work}/zip-out`,
        ),
    },
    rounds,
    warmup,
  });
  for (const format of ['zip', 'tar.gz']) {
    const self = fileURLToPath(import.meta.url);
    const rss = Number(execFileSync(process.execPath, [self, '--child', tree, work, format], { encoding: 'utf8' }));
    const size = Number(execFileSync('stat', ['-c', '%s', join(work, `ours.${format}`)], { encoding: 'utf8' }));
    record({
      name: `cache-adapters: peak RSS of one ${format} archive+extract (fresh process)`,
      value: rss,
      unit: 'KiB',
      note: `${(rss / 1024).toFixed(0)} MiB peak RSS for a ${(written / 1e6).toFixed(0)} MB tree; archive ${(size / 1e6).toFixed(1)} MB`,
    });
  }
  const gnu = Number(execFileSync('stat', ['-c', '%s', join(work, 'gnu.tar.gz')], { encoding: 'utf8' }));
  const info = Number(execFileSync('stat', ['-c', '%s', join(work, 'info.zip')], { encoding: 'utf8' }));
  process.stdout.write(`sizes: GNU tar.gz ${(gnu / 1e6).toFixed(1)} MB, Info-ZIP ${(info / 1e6).toFixed(1)} MB\n`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
