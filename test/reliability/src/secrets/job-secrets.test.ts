// End to end: masked variables printed by a job in every awkward way never reach the coordinator (neither the stored
// trace nor the PATCH bodies as sent), tokens never reach the runner's own log, and the clone URL's credentials
// are never printed — with the shell executor and with the Docker executor.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, createCoordinator } from '@runnerkit/coordinator';
import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from '../support/count.js';
import {
  type CliProcess,
  configToml,
  createPipeline,
  finishedJob,
  gitProject,
  labelledObjects,
  removeLabelledObjects,
  shellDirectories,
  shortTokenOf,
  startCli,
  temporaryDirectory,
} from '../support/runner.js';
import { findLeak, sampleSecrets } from '../support/secrets.js';

let coordinator: Coordinator;
let work: Awaited<ReturnType<typeof temporaryDirectory>>;
const runners: CliProcess[] = [];
const dockerTokens: string[] = [];

beforeAll(async () => {
  coordinator = await createCoordinator({ recordBodyLimitBytes: 8 * 1024 * 1024 });
  work = await temporaryDirectory('secrets');
});
afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.stop()));
  for (const token of dockerTokens) await removeLabelledObjects(shortTokenOf(token));
  await coordinator?.close();
  await work?.remove();
});

/** The trace as the runner sent it: every PATCH body of the job, in order. */
function sentTrace(jobId: number): string {
  return Buffer.concat(
    coordinator
      .requests({ endpoint: 'trace', jobId })
      .filter((request) => request.status === 202)
      .map((request) => request.body),
  ).toString('utf8');
}

const SCRIPT = [
  // split across writes: two processes, a pause between the halves
  'printf "%s" "$(echo "$SECRET_A" | cut -c1-5)"; sleep 0.3; echo "$SECRET_A" | cut -c6-',
  // inside ANSI sequences, on stdout and stderr
  'printf "\\033[31m%s\\033[0m and \\033[1;32m%s\\033[0m\\n" "$SECRET_B" "$SECRET_C"',
  'echo "stderr: $SECRET_B" >&2',
  // as part of a URL, and URL-encoded by the shell
  'echo "https://user:$SECRET_C@example.invalid/path?private_token=$SECRET_A"',
  // the job token, as a job might print it
  'echo "token: $CI_JOB_TOKEN"',
  // a big block, then the secrets right at the 64 KiB output limit
  'head -c 60000 /dev/zero | tr "\\0" "-"',
  'i=0; while [ $i -lt 300 ]; do printf "%s%s" "$SECRET_A" "$SECRET_B"; i=$((i+1)); done; echo',
];

async function runSecretJob(executor: 'shell' | 'docker'): Promise<void> {
  const secrets = sampleSecrets(3, executor === 'shell' ? 101 : 202);
  const runner = coordinator.createRunner({ tags: [`secrets-${executor}`], runUntagged: false });
  if (executor === 'docker') dockerTokens.push(runner.token);
  const config = join(work.path, `${executor}.toml`);
  const extra =
    executor === 'shell'
      ? shellDirectories(work.path)
      : '  [runners.docker]\n    image = "runnerkit-test/busybox:latest"\n    pull_policy = ["if-not-present"]\n    disable_cache = true\n';
  await writeFile(
    config,
    configToml([
      {
        name: `secrets-${executor}`,
        url: coordinator.url,
        token: runner.token,
        executor,
        extra: `  output_limit = 64\n${extra}`,
      },
    ]),
  );
  const cli = startCli(['run', '-c', config]);
  runners.push(cli);
  await cli.waitFor(/Configuration loaded/);
  const project = await gitProject(work.path, `secrets-${executor}`, { 'README.md': 'secrets\n' });
  const yaml = `leak:\n  tags: [secrets-${executor}]\n  script:\n${SCRIPT.map((line) => `    - ${JSON.stringify(line)}`).join('\n')}\n`;
  const created = await createPipeline(coordinator, project, yaml, [
    { key: 'SECRET_A', value: secrets[0] as string, masked: true },
    { key: 'SECRET_B', value: secrets[1] as string, masked: true },
    { key: 'SECRET_C', value: secrets[2] as string, masked: true },
  ]);
  const id = created.jobs[0]?.id as number;
  const job = await finishedJob(coordinator, id, 120_000);
  count('jobsRun');
  expect(job.status, job.trace.slice(0, 3000)).toBe('success');
  const sent = sentTrace(id);
  count('traceBytesChecked', Buffer.byteLength(sent) + Buffer.byteLength(job.trace));
  // what was stored is what was sent (the coordinator only overwrites the job token, which must not be there)
  expect(job.trace).toBe(sent);
  const jobToken = coordinator.requests({ endpoint: 'job-update', jobId: id })[0]?.headers['job-token'] ?? '';
  const tokens = [jobToken as string, runner.token].filter((token) => token !== '');
  expect(tokens.length).toBe(2);
  for (const text of [sent, job.trace]) {
    expect(findLeak(text, secrets)).toBeUndefined();
    for (const token of tokens) expect(text).not.toContain(token);
    expect(text).not.toMatch(/gitlab-ci-token:[^@\s]*@/);
  }
  expect(sent).toContain('[MASKED]');
  // the limit fell inside the run of secrets: what precedes the notice is secrets, masked
  expect(sent).toMatch(/(\[MASKED\]){20}[^\n]*\n\x1b\[33;1mJob's log exceeded limit/);
  expect(sent).toContain("Job's log exceeded limit of 65536 bytes.");
  // the runner's own log (debug level) names neither the tokens nor the secrets
  cli.child.kill('SIGQUIT');
  await cli.exited;
  expect(findLeak(cli.output, secrets)).toBeUndefined();
  for (const token of tokens) expect(cli.output).not.toContain(token);
  expect(cli.output).not.toMatch(/gitlab-ci-token:[^@\s]*@/);
  if (executor === 'docker') {
    expect(await labelledObjects(shortTokenOf(runner.token))).toEqual({ containers: [], volumes: [], networks: [] });
  }
}

describe('secrets end to end through `runnerkit run`', () => {
  it('shell executor: masked values, job token, runner token and clone credentials never leave the runner', async () => {
    await runSecretJob('shell');
  });

  // Absent dockerd or test images: a loud skip outside CI, a failure under CI=true (testkit's semantics).
  describeWithComponent('docker', 'Docker executor', () => {
    describeWithComponent('images', 'with the test images', () => {
      it('the same job, the same guarantees, nothing left in Docker', async () => {
        await runSecretJob('docker');
      });
    });
  });
});
