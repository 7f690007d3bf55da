#!/usr/bin/env node
// Checks that workspace packages depend on each other only along the edges drawn in docs/architecture/README.md
// (package.json dependencies and the `@runnerkit/*` imports in their sources), and that the graph has no cycle.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs/architecture/README.md'), 'utf8');
const table = doc.slice(doc.indexOf('<!-- graph:start -->'), doc.indexOf('<!-- graph:end -->'));
const allowed = new Map();
for (const line of table.split('\n')) {
  const cells = line.split('|').map((cell) => cell.trim());
  if (cells.length < 4 || cells[1] === 'package' || cells[1].startsWith('---')) continue;
  const [name, imports] = [cells[1], cells[2]];
  const bracket = imports.match(/\[(.*)\]/);
  const split = (text) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  allowed.set(name, {
    runtime: new Set(split(imports.replace(/\[.*\]/, ''))),
    dev: new Set(split(bracket?.[1] ?? '')),
  });
}

const problems = [];
const workspaceDirs = ['packages', 'apps', 'internal', 'test']
  .flatMap((group) => (existsSync(join(root, group)) ? readdirSync(join(root, group)).map((d) => join(group, d)) : []))
  .concat(['bench'])
  .filter((dir) => existsSync(join(root, dir, 'package.json')));

const shortName = (name) => name.replace(/^@runnerkit\//, '');
const graph = new Map();
function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(m?[jt]s)$/.test(entry)) out.push(path);
  }
  return out;
}

for (const dir of workspaceDirs) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const name = shortName(pkg.name);
  const rule = allowed.get(name);
  if (!rule) {
    problems.push(`${dir}: package ${pkg.name} is not in the table of docs/architecture/README.md`);
    continue;
  }
  const edges = new Set();
  for (const [field, dev] of [
    ['dependencies', false],
    ['peerDependencies', false],
    ['devDependencies', true],
  ]) {
    for (const dep of Object.keys(pkg[field] ?? {})) {
      if (!dep.startsWith('@runnerkit/')) continue;
      const target = shortName(dep);
      const ok = dev ? rule.dev.has(target) || rule.runtime.has(target) : rule.runtime.has(target);
      if (!ok) problems.push(`${dir}/package.json: ${field} ${dep} is not an allowed edge of ${name}`);
      if (!dev) edges.add(target);
    }
  }
  // Source imports: a file that is not a test may import only runtime edges; tests may use dev edges too.
  for (const file of walk(join(root, dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    // Private test packages (test/*) are test code throughout.
    const isTest =
      dir.startsWith('test/') ||
      /\.test(-d)?\.[mc]?[jt]s$|\/testing\/|\/test-support(\/|\.[mc]?[jt]s$)|\/__fixtures__\//.test(file);
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](@runnerkit\/[a-z0-9-]+)/g)) {
      const target = shortName(match[1]);
      if (target === name) continue;
      const ok = rule.runtime.has(target) || (isTest && rule.dev.has(target));
      if (!ok) problems.push(`${relative(root, file)}: imports ${match[1]}, not an allowed edge of ${name}`);
      const declared = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies };
      if (!declared[match[1]])
        problems.push(`${relative(root, file)}: imports ${match[1]}, which package.json does not declare`);
      if (!isTest) edges.add(target);
    }
  }
  graph.set(name, edges);
}

// Cycle check over runtime edges.
const state = new Map();
function visit(node, stack) {
  if (state.get(node) === 'done') return;
  if (state.get(node) === 'active') {
    problems.push(`dependency cycle: ${[...stack.slice(stack.indexOf(node)), node].join(' -> ')}`);
    return;
  }
  state.set(node, 'active');
  for (const next of graph.get(node) ?? []) visit(next, [...stack, node]);
  state.set(node, 'done');
}
for (const node of graph.keys()) visit(node, []);

if (problems.length > 0) {
  process.stderr.write(`check-graph: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`check-graph: ${graph.size} packages, every edge allowed, no cycle\n`);
