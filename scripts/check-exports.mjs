#!/usr/bin/env node
// Checks every publishable package's `exports` map against its build: every target exists after `pnpm build`,
// `types` comes first in each condition object, every built entry point is exported, and `files` ships dist.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
let checked = 0;
for (const group of ['packages']) {
  for (const dir of readdirSync(join(root, group))) {
    const base = join(root, group, dir);
    if (!existsSync(join(base, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    checked++;
    const where = `${group}/${dir}`;
    if (!pkg.exports) {
      problems.push(`${where}: no exports map`);
      continue;
    }
    if (pkg.sideEffects !== false) problems.push(`${where}: sideEffects should be false`);
    if (!pkg.files?.includes('dist')) problems.push(`${where}: files does not include dist`);
    const exported = new Set();
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') {
        if (!existsSync(join(base, target)))
          problems.push(`${where}: exports["${subpath}"] -> ${target} does not exist`);
        continue;
      }
      const keys = Object.keys(target);
      if (keys[0] !== 'types') problems.push(`${where}: exports["${subpath}"] must list "types" first`);
      for (const [condition, file] of Object.entries(target)) {
        if (condition === 'source') continue; // development-only condition, resolved by vitest
        if (!existsSync(join(base, file)))
          problems.push(`${where}: exports["${subpath}"].${condition} -> ${file} is missing (not built?)`);
        if (file.startsWith('./dist/') && file.endsWith('.js')) exported.add(file.slice('./dist/'.length));
      }
    }
    // tsup writes shared code to chunk-*.js; every other top-level .js file in dist is an entry that must be exported.
    const dist = join(base, 'dist');
    if (existsSync(dist)) {
      for (const file of readdirSync(dist, { recursive: true })) {
        const name = String(file);
        if (!name.endsWith('.js') || /(^|\/)chunk-[^/]+\.js$/.test(name)) continue;
        if (!exported.has(name)) problems.push(`${where}: dist/${name} is built but not exported`);
      }
    } else {
      problems.push(`${where}: dist/ is missing: run pnpm build first`);
    }
  }
}
if (problems.length > 0) {
  process.stderr.write(`check-exports: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`check-exports: ${checked} packages, exports match their builds\n`);
