// CACHE_COMPRESSION_LEVEL as the executors apply it (cacheArchiveSettings → writeArchive): zip archive time of a
// many-file tree at `fastest` and at `slowest` against `default`, alternating rounds, plus each level's archive
// size. Full run: 4 000 files, ~40 MB; --quick: 800 files, ~8 MB. Contents: unique, moderately compressible text.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheArchiveSettings } from '../../packages/cache-adapters/dist/index.js';
import { selectFiles, writeArchive } from '../../packages/cache-adapters/dist/archive.js';
import { compare, quick, record } from '../lib/ab.mjs';

const files = quick ? 800 : 4_000;
const totalBytes = quick ? 8e6 : 40e6;
const base = join(tmpdir(), `rk-bench-cache-settings-${process.pid}`);
const tree = join(base, 'tree');

let seed = 7;
const random = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const words = ['cache', 'runner', 'archive', 'level', 'deflate', 'object', 'project', 'key', 'job', 'stage'];
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
  const archiveAt = (name) => {
    const settings = cacheArchiveSettings({ CACHE_COMPRESSION_LEVEL: name });
    const output = join(base, `cache-${name}.zip`);
    return {
      name: `zip ${name} (level ${settings.level})`,
      output,
      run: () => writeArchive({ root: tree, entries, format: settings.format, level: settings.level, output }),
    };
  };
  const levels = Object.fromEntries(['fastest', 'default', 'slowest'].map((name) => [name, archiveAt(name)]));
  for (const name of ['fastest', 'slowest']) {
    await compare({
      name: `cache-archive-settings: zip archive, CACHE_COMPRESSION_LEVEL=${name} vs default (${files} files)`,
      candidate: levels[name],
      baseline: levels.default,
    });
  }
  const sizes = Object.fromEntries(Object.entries(levels).map(([name, side]) => [name, statSync(side.output).size]));
  record({
    name: 'cache-archive-settings: archive size by CACHE_COMPRESSION_LEVEL',
    sizes,
    note: `fastest ${(sizes.fastest / sizes.default).toFixed(3)}× and slowest ${(sizes.slowest / sizes.default).toFixed(3)}× the default size (${sizes.default} bytes)`,
  });
} finally {
  rmSync(base, { recursive: true, force: true });
}
