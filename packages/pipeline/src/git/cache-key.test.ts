import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePipeline } from '../compile.js';
import { buildWireJobPayload } from '../emit/build-job-payload.js';
import { readGitFacts } from './read-git-facts.js';

// cache:key:files / files_commits computed from a real checkout, checked against git's own answers.

let dir: string;
const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
const sha1 = (ids: string[]) =>
  createHash('sha1')
    .update([...new Set(ids)].sort().join('-'))
    .digest('hex');

const YAML = `
content:
  script: echo
  cache:
    key:
      files: [Gemfile.lock, package.json]
      prefix: deps
    paths: [vendor/]
globbed:
  script: echo
  cache:
    key:
      files: ["locks/*.lock"]
    paths: [vendor/]
commits:
  script: echo
  cache:
    key:
      files_commits: [Gemfile.lock, package.json]
      prefix: $CI_JOB_NAME
    paths: [vendor/]
missing:
  script: echo
  cache:
    key:
      files: [no-such-file.lock]
    paths: [vendor/]
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipeline-cache-key-'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Ada Dev');
  git('config', 'user.email', 'ada@example.com');
  mkdirSync(join(dir, 'locks'));
  writeFileSync(join(dir, 'Gemfile.lock'), 'GEM\n  rake (13.0)\n');
  writeFileSync(join(dir, 'locks', 'a.lock'), 'a\n');
  writeFileSync(join(dir, 'locks', 'b.lock'), 'b\n');
  writeFileSync(join(dir, '.gitlab-ci.yml'), YAML);
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  writeFileSync(join(dir, 'package.json'), '{"name":"x"}\n');
  git('add', '.');
  git('commit', '-q', '-m', 'second');
  writeFileSync(join(dir, 'README.md'), 'later\n');
  git('add', '.');
  git('commit', '-q', '-m', 'third, touching neither lock file');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function keys(options: { withGit: boolean }) {
  const result = await compilePipeline({
    yaml: YAML,
    projectDir: dir,
    ...(options.withGit ? { gitFacts: await readGitFacts(dir) } : {}),
  });
  if (!result.ok) throw result.error;
  return Object.fromEntries(
    result.pipeline.jobs.map((job) => [
      job.name,
      buildWireJobPayload(job, { jobId: 1, jobToken: 't', repoUrl: null }).cache?.[0]?.key,
    ]),
  );
}

describe('cache:key:files and files_commits from the git checkout', () => {
  it('hashes blob ids (files) and last commits (files_commits) in GitLab format', async () => {
    const blobs = [git('rev-parse', 'HEAD:Gemfile.lock'), git('rev-parse', 'HEAD:package.json')];
    const commits = [
      git('log', '-1', '--format=%H', '--', 'Gemfile.lock'),
      git('log', '-1', '--format=%H', '--', 'package.json'),
    ];
    expect(commits[0]).not.toBe(git('rev-parse', 'HEAD'));
    expect(await keys({ withGit: true })).toEqual({
      content: `deps-${sha1(blobs)}-non_protected`,
      globbed: `${sha1([git('rev-parse', 'HEAD:locks/a.lock'), git('rev-parse', 'HEAD:locks/b.lock')])}-non_protected`,
      // The prefix is sent as written: the runner expands it.
      commits: `$CI_JOB_NAME-${sha1(commits)}-non_protected`,
      missing: 'default-non_protected',
    });
  });

  it('falls back to `default` without git facts', async () => {
    expect(await keys({ withGit: false })).toEqual({
      content: 'deps-default-non_protected',
      globbed: 'default-non_protected',
      commits: '$CI_JOB_NAME-default-non_protected',
      missing: 'default-non_protected',
    });
  });
});
