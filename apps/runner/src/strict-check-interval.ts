// `strict_check_interval = true` (config-toml.md): GitLab Runner then does not ask for another job at once after
// receiving one; the runner is asked again at its next check_interval turn. job-runtime's supervisor always asks
// again at once, so this wrapper holds that immediate request until one check_interval after the request that got
// the job — when the supervisor would have fed the runner anyway. (While it waits, the request counts against
// `concurrent`, which GitLab Runner's free worker would not.)
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobSource } from '@runnerkit/job-runtime';

export function strictCheckInterval(source: JobSource, checkIntervalMs: () => number): JobSource {
  let nextTurn = 0;
  return {
    async request(signal) {
      const wait = nextTurn - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      const started = Date.now();
      const outcome = await source.request(signal);
      nextTurn = outcome.kind === 'job' ? started + checkIntervalMs() : 0;
      return outcome;
    },
  };
}
