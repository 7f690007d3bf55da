// e2e job start vs gitlab-ci-local: one trivial Docker job (runnerkit-test/busybox, `echo hi`) from the same
// .gitlab-ci.yml through `runnerkit exec` and through gitlab-ci-local 4.75.1 (scripts/peers), whole command timed
// (process start to exit). Goal: faster than gitlab-ci-local (ratio below 1).
// Run alone: node bench/suites/e2e-job-start-gcl.mjs [--quick]  (needs dockerd, the runnerkit-test images, a built CLI)
import { join } from 'node:path';
import { compare } from '../lib/ab.mjs';
import { dockerLeftovers, gitCheckout, peers, removeDockerObjects, runGitlabCiLocal } from '../lib/peers.mjs';
import { execShortToken, requireBuiltCli, runExec, runnerLabelFilter } from '../lib/runnerkit.mjs';

requireBuiltCli();
peers();
const YAML = `hi:
  image: runnerkit-test/busybox:latest
  script:
    - echo hi
`;
const checkout = gitCheckout('job-start', { '.gitlab-ci.yml': YAML });
const env = { XDG_CACHE_HOME: join(checkout.parent, 'xdg-cache') };
const runnerkitObjects = runnerLabelFilter(execShortToken(checkout.dir));
try {
  await compare({
    name: 'e2e: trivial job (busybox, echo hi), runnerkit exec vs gitlab-ci-local',
    candidate: {
      name: 'runnerkit exec',
      run: () => runExec(checkout.dir, { outputFile: join(checkout.parent, 'runnerkit.log'), env }),
    },
    baseline: {
      name: 'gitlab-ci-local 4.75.1',
      run: () => runGitlabCiLocal(checkout.dir, { outputFile: join(checkout.parent, 'gcl.log') }),
    },
    goal: 1,
  });
  const left = dockerLeftovers(runnerkitObjects);
  if (left.containers.length || left.networks.length)
    throw new Error(`runnerkit exec left Docker objects behind: ${JSON.stringify(left)}`);
} finally {
  removeDockerObjects(runnerkitObjects); // exec keeps its /cache volume between runs, as GitLab Runner does
  checkout.remove();
}
