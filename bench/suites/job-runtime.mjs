// job-runtime: (1) a trivial job through runJob + the shell executor vs the floor, `bash -c 'echo hello'`
// (runJob runs four shell processes: prepare_script, get_sources, step_script, cleanup_file_variables);
// (2) the trace writer (masking 3 secrets + timestamps + crc32) on 8 MiB of output in 4 KiB writes vs copying the
// same bytes with crc32 only. Full: 11 rounds; --quick: 3 rounds, 2 MiB.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { createShellExecutor, runJob, TraceWriter } from '../../packages/job-runtime/dist/index.js';
import { compare, quick } from '../lib/ab.mjs';

const root = mkdtempSync(join(tmpdir(), 'rk-bench-runtime-'));
const PATH = '/usr/local/bin:/usr/bin:/bin';
const sink = { write() {} };
const payload = {
  id: 1,
  token: 'bench-token',
  git_info: { repo_url: 'https://gitlab.example.com/group/project.git' },
  variables: [{ key: 'GIT_STRATEGY', value: 'none' }],
  steps: [{ name: 'script', script: ['echo hello'] }],
  features: { trace_sections: true },
};

try {
  await compare({
    name: 'job-runtime: trivial job via runJob + shell executor vs bash -c',
    candidate: {
      name: 'runJob(shell)',
      run: async () => {
        const { outcome } = await runJob({
          payload,
          executor: createShellExecutor({
            buildsDir: join(root, 'builds'),
            cacheDir: join(root, 'cache'),
            env: { PATH },
          }),
          trace: sink,
          runner: { version: 'bench', revision: 'bench', token: 'glrt-benchtoken' },
        });
        if (outcome.status !== 'success') throw new Error(JSON.stringify(outcome));
      },
    },
    baseline: {
      name: "bash -c 'echo hello'",
      run: () =>
        new Promise((resolve, reject) => {
          const child = spawn('bash', ['-c', 'echo hello'], { env: { PATH }, stdio: ['ignore', 'pipe', 'inherit'] });
          child.stdout.resume();
          child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
        }),
    },
  });

  const size = quick ? 2 * 1024 * 1024 : 8 * 1024 * 1024;
  const line = Buffer.from('building module 0123456789 with some log text and a url https://x/y?page=2 ok\n');
  const output = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += line.length) line.copy(output, offset);
  const chunks = [];
  for (let offset = 0; offset < size; offset += 4096) chunks.push(output.subarray(offset, offset + 4096));

  await compare({
    name: 'job-runtime: trace writer (mask 3 secrets + timestamps + crc32) vs copy + crc32, 4 KiB writes',
    candidate: {
      name: 'TraceWriter',
      run: async () => {
        const trace = new TraceWriter({
          sink,
          masking: { phrases: ['s3cr3t-value-1', 'another-secret-2', 'p@ssw0rd!'] },
          timestamps: true,
          outputLimit: 64 * 1024 * 1024,
        });
        for (const chunk of chunks) trace.write(chunk, 'stdout');
        await trace.close();
      },
    },
    baseline: {
      name: 'copy + crc32',
      run: async () => {
        let crc = 0;
        for (const chunk of chunks) crc = crc32(Buffer.from(chunk), crc);
        sink.write(crc);
      },
    },
  });
} finally {
  rmSync(root, { recursive: true, force: true });
}
