import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { snapshotWorkingTree } from './snapshot.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
async function temporary() {
  const dir = await mkdtemp(join(tmpdir(), 'runnerkit-snapshot-test-'));
  dirs.push(dir);
  return dir;
}
const files = async (dir: string) => (await run('git', ['ls-files'], { cwd: dir })).stdout.trim().split('\n');

describe('the working-tree snapshot exec serves', () => {
  it('holds committed, modified and untracked files, not ignored ones, on the checkout’s branch', async () => {
    const root = await temporary();
    const project = join(root, 'app');
    await run('git', ['init', '-q', '--initial-branch=feature', project]);
    await writeFile(join(project, '.gitignore'), 'secret.txt\n');
    await writeFile(join(project, 'kept.txt'), 'committed');
    await writeFile(join(project, 'changed.txt'), 'before');
    await run('git', ['add', '.'], { cwd: project });
    await run('git', ['-c', 'user.name=Ada', '-c', 'user.email=ada@example.com', 'commit', '-qm', 'first'], {
      cwd: project,
    });
    await writeFile(join(project, 'changed.txt'), 'after');
    await writeFile(join(project, 'new.txt'), 'untracked');
    await writeFile(join(project, 'secret.txt'), 'ignored');
    const snapshot = await snapshotWorkingTree(project);
    dirs.push(join(snapshot.dir, '..'));
    expect(snapshot.branch).toBe('feature');
    expect(snapshot.dir.endsWith('/app')).toBe(true);
    expect(await files(snapshot.dir)).toEqual(['.gitignore', 'changed.txt', 'kept.txt', 'new.txt']);
    expect(await readFile(join(snapshot.dir, 'changed.txt'), 'utf8')).toBe('after');
    const { stdout } = await run('git', ['log', '-1', '--format=%an <%ae> %s'], { cwd: snapshot.dir });
    expect(stdout.trim()).toBe('Ada <ada@example.com> first');
    // the user's checkout is untouched
    expect((await run('git', ['status', '--porcelain'], { cwd: project })).stdout).toMatchInlineSnapshot(`
      " M changed.txt
      ?? new.txt
      "
    `);
    await snapshot.remove();
  });

  it('works for a directory that is not a git checkout', async () => {
    const root = await temporary();
    const plain = join(root, 'plain');
    await mkdir(join(plain, 'sub'), { recursive: true });
    await writeFile(join(plain, 'sub', 'a.txt'), 'a');
    const snapshot = await snapshotWorkingTree(plain);
    expect(snapshot.branch).toBe('main');
    expect(await files(snapshot.dir)).toEqual(['sub/a.txt']);
    expect(snapshot.sha).toMatch(/^[0-9a-f]{40}$/);
    await snapshot.remove();
  });
});
