// Cache archives: archive + extract of a many-file tree with @runnerkit/cache-adapters vs GNU tar + gzip (same
// level, 6) and vs Info-ZIP zip/unzip (level 6), alternating rounds; the archive/extract split of each side; plus
// the peak RSS of one archive + extract in a fresh process. Full run: 20 000 files, ~200 MB. --quick: 2 000 files,
// ~20 MB. File contents are unique (a proper PRNG: an earlier LCG in plain doubles repeated after ~100 files, which
// made every archiver's output depend on how close the duplicates sat).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractArchive, selectFiles, writeArchive } from '../../packages/cache-adapters/dist/archive.js';
import { compare, quick, record, summarize } from '../lib/ab.mjs';

const LEVEL = 6;

/** Per-phase times (ms) of every timed run, by side, for the archive/extract split. */
const splits = new Map();
function split(side, phase, ms) {
  const key = `${side}\t${phase}`;
  if (!splits.has(key)) splits.set(key, []);
  splits.get(key).push(ms);
}

async function archiveAndExtract(root, work, format) {
  const file = join(work, `ours.${format}`);
  const out = join(work, `ours-out-${format}`);
  // Removed the same way as the baselines' output (rm -rf; Node's rmSync is several times slower on 20 000 files).
  sh(`rm -rf ${out}`);
  let start = performance.now();
  const { entries } = await selectFiles({ root, paths: ['.'] });
  await writeArchive({ root, entries, format, level: LEVEL, output: file });
  split(`runnerkit ${format}`, 'archive', performance.now() - start);
  start = performance.now();
  await extractArchive({ file, target: out });
  split(`runnerkit ${format}`, 'extract', performance.now() - start);
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
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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

function timedSh(side, phase, command) {
  const start = performance.now();
  sh(command);
  split(side, phase, performance.now() - start);
}

function gnuTar() {
  sh(`rm -rf ${work}/tar-out && mkdir ${work}/tar-out`);
  timedSh('GNU tar+gzip', 'archive', `tar -cf - -C ${tree} . | gzip -${LEVEL} > ${work}/gnu.tar.gz`);
  timedSh('GNU tar+gzip', 'extract', `tar -xzf ${work}/gnu.tar.gz -C ${work}/tar-out`);
}

function infoZip() {
  sh(`rm -rf ${work}/zip-out ${work}/info.zip`);
  timedSh('Info-ZIP', 'archive', `cd ${tree} && zip -q -r -y -${LEVEL} ${work}/info.zip .`);
  timedSh('Info-ZIP', 'extract', `unzip -q ${work}/info.zip -d ${work}/zip-out`);
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
      run: gnuTar,
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
      run: gnuTar,
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
      run: infoZip,
    },
    rounds,
    warmup,
  });
  process.stdout.write('timing split, median [p25–p75] ms over every run:\n');
  for (const [key, values] of splits) {
    const [side, phase] = key.split('\t');
    const { median, p25, p75, n } = summarize(values);
    process.stdout.write(
      `  ${side.padEnd(18)} ${phase.padEnd(8)} ${median.toFixed(0).padStart(7)} [${p25.toFixed(0)}–${p75.toFixed(0)}] n=${n}\n`,
    );
  }
  for (const [side, phase] of [
    ['runnerkit zip', 'archive'],
    ['runnerkit zip', 'extract'],
    ['runnerkit tar.gz', 'archive'],
    ['runnerkit tar.gz', 'extract'],
  ]) {
    const ours = splits.get(`${side}\t${phase}`) ?? [];
    const gnu = splits.get(`GNU tar+gzip\t${phase}`) ?? [];
    if (ours.length === 0 || gnu.length === 0) continue;
    record({
      name: `cache-adapters: ${side} ${phase} only vs GNU tar+gzip ${phase} (medians of every run)`,
      value: summarize(ours).median / summarize(gnu).median,
      unit: 'ratio',
      note: `${(summarize(ours).median / summarize(gnu).median).toFixed(2)}× (${summarize(ours).median.toFixed(0)} ms vs ${summarize(gnu).median.toFixed(0)} ms)`,
    });
  }
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
