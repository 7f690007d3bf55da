import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeExecutorConformance } from '../testing/conformance.js';
import { createShellExecutor } from './shell.js';

const root = mkdtempSync(join(tmpdir(), 'job-runtime-shell-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describeExecutorConformance({
  name: 'shell (bash)',
  createExecutor: () =>
    createShellExecutor({
      shell: 'bash',
      buildsDir: join(root, 'bash/builds'),
      cacheDir: join(root, 'bash/cache'),
      env: { PATH },
    }),
});

describeExecutorConformance({
  name: 'shell (busybox sh)',
  createExecutor: () =>
    createShellExecutor({
      shell: 'sh',
      command: ['/bin/busybox', 'sh'],
      buildsDir: join(root, 'sh/builds'),
      cacheDir: join(root, 'sh/cache'),
      env: { PATH },
    }),
});
