// e2e pipeline vs gitlab-ci-local: bench/fixtures/e2e-pipeline.gitlab-ci.yml (3 stages, 6 jobs: artifacts passed
// between stages, a service reached by its alias, a cache kept between runs) through `runnerkit exec` and through
// gitlab-ci-local 4.75.1 on the same checkout, each with its default concurrency (runnerkit 4; gitlab-ci-local
// every job of a stage at once). Whole command timed; both must report all 6 jobs successful.
// Run alone: node bench/suites/e2e-pipeline.mjs [--quick]  (needs dockerd, the runnerkit-test images, a built CLI)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, quick } from '../lib/ab.mjs';
import { dockerLeftovers, gitCheckout, peers, removeDockerObjects, runGitlabCiLocal } from '../lib/peers.mjs';
import { execShortToken, requireBuiltCli, runExec, runnerLabelFilter } from '../lib/runnerkit.mjs';

requireBuiltCli();
peers();
const YAML = readFileSync(new URL('../fixtures/e2e-pipeline.gitlab-ci.yml', import.meta.url), 'utf8');
const JOBS = ['build-numbers', 'build-greeting', 'test-artifacts', 'test-service', 'test-cache', 'deploy'];
const checkout = gitCheckout('pipeline', { '.gitlab-ci.yml': YAML });
const env = { XDG_CACHE_HOME: join(checkout.parent, 'xdg-cache') };
const runnerkitLog = join(checkout.parent, 'runnerkit.log');
const gclLog = join(checkout.parent, 'gcl.log');
const runnerkitObjects = runnerLabelFilter(execShortToken(checkout.dir));

/** Both tools exit 0 only when every job passed; this also checks that all six ran. */
function checkAllJobsRan() {
  const runnerkit = readFileSync(runnerkitLog, 'utf8');
  const gcl = readFileSync(gclLog, 'utf8');
  for (const job of JOBS) {
    if (!new RegExp(`^${job}\\s+\\S+\\s+success`, 'm').test(runnerkit))
      throw new Error(`runnerkit exec: ${job} did not succeed:\n${runnerkit.slice(-2000)}`);
    if (!new RegExp(`PASS\\s+${job}\\b`).test(gcl))
      throw new Error(`gitlab-ci-local: ${job} did not pass:\n${gcl.slice(-2000)}`);
  }
}

try {
  await compare({
    name: 'e2e: 3-stage 6-job pipeline (artifacts, service, cache), runnerkit exec vs gitlab-ci-local',
    candidate: { name: 'runnerkit exec', run: () => runExec(checkout.dir, { outputFile: runnerkitLog, env }) },
    baseline: { name: 'gitlab-ci-local 4.75.1', run: () => runGitlabCiLocal(checkout.dir, { outputFile: gclLog }) },
    rounds: quick ? 2 : 7,
    goal: 1,
  });
  checkAllJobsRan();
  const left = dockerLeftovers(runnerkitObjects);
  if (left.containers.length || left.networks.length)
    throw new Error(`runnerkit exec left Docker objects behind: ${JSON.stringify(left)}`);
} finally {
  removeDockerObjects(runnerkitObjects); // exec keeps its /cache volumes between runs, as GitLab Runner does
  checkout.remove();
}
