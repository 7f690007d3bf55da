// executor-ssh, against the test sshd (127.0.0.1:2222): (1) a trivial job through runJob + the SSH executor vs
// the floor, one OpenSSH `ssh … bash -l` running `echo hello` (the job opens one connection and runs four stage
// shells: prepare_script, get_sources, step_script, cleanup_file_variables); (2) 32 MiB of stage output streamed
// through the executor (ssh2, pure-JS crypto) into a trace sink vs OpenSSH's `ssh` printing the same to a pipe.
// Full: 11 rounds; --quick: 3 rounds, 8 MiB.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from '../../packages/job-runtime/dist/index.js';
import { createSshExecutor, probeSshHomeDirectory } from '../../packages/executor-ssh/dist/index.js';
import { compare, quick } from '../lib/ab.mjs';

const state = JSON.parse(readFileSync(new URL('../../.test-components/state.json', import.meta.url), 'utf8')).ssh;
const connection = {
  ssh: { host: state.host, port: String(state.port), user: state.keyUser },
  identity: readFileSync(state.keyFile),
  knownHosts: readFileSync(state.knownHosts, 'utf8'),
};
const root = `rk-bench-executor-ssh-${process.pid}`;
const workDir = mkdtempSync(join(tmpdir(), 'rk-bench-ssh-'));
const homeDirectory = await probeSshHomeDirectory(connection);
const executor = () =>
  createSshExecutor({ ...connection, homeDirectory, buildsDir: `${root}/builds`, cacheDir: `${root}/cache`, workDir });
const runner = { version: 'bench', revision: 'bench', token: 'glrt-benchtoken' };
const payload = (script) => ({
  id: 1,
  token: 'bench-token',
  git_info: { repo_url: 'https://gitlab.example.com/group/project.git' },
  variables: [{ key: 'GIT_STRATEGY', value: 'none' }],
  steps: [{ name: 'script', script }],
  features: { trace_sections: true },
});
const openssh = (command, input) =>
  new Promise((resolve, reject) => {
    const child = spawn(
      'ssh',
      [
        '-p',
        String(state.port),
        '-i',
        state.keyFile,
        '-o',
        `UserKnownHostsFile=${state.knownHosts}`,
        '-o',
        'BatchMode=yes',
        `${state.keyUser}@${state.host}`,
        command,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    child.stdout.resume();
    child.stdin.end(input);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exit ${code}`))));
  });
const job = async (script) => {
  const { outcome } = await runJob({ payload: payload(script), executor, trace: { write() {} }, runner });
  if (outcome.status !== 'success') throw new Error(JSON.stringify(outcome));
};

try {
  await compare({
    name: 'executor-ssh: trivial job via runJob + SSH executor vs one `ssh … bash -l`',
    candidate: { name: 'runJob(ssh)', run: () => job(['echo hello']) },
    baseline: { name: 'ssh bash -l', run: () => openssh('bash -l', 'echo hello\n') },
  });
  const mib = quick ? 8 : 32;
  const produce = `head -c ${mib * 1024 * 1024} /dev/zero | tr '\\0' 'a' | fold -w 100`;
  await compare({
    name: `executor-ssh: ${mib} MiB of stage output into the trace vs OpenSSH ssh to a pipe`,
    candidate: { name: 'runJob(ssh)', run: () => job([produce]) },
    baseline: { name: 'ssh', run: () => openssh(produce, '') },
  });
} finally {
  await openssh(`rm -rf ${root}`, '');
  rmSync(workDir, { recursive: true, force: true });
}
