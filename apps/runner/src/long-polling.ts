// Long polling (api-spec §4.3): when GitLab Workhorse answers a held job request with a 204 marked
// `Gitlab-Ci-Builds-Polling: yes` (the runner's queue changed, or the hold ran out), the runner asks again at once
// instead of at its next check_interval turn. The job source of wiring.ts reports only "no job"; the client knows
// whether that answer came from the polling layer, and this wrapper tells the supervisor (`again`).
import type { JobApiClient } from '@runnerkit/job-api-client';
import type { SupervisedRunner } from '@runnerkit/job-runtime';

export function withLongPolling(
  runner: SupervisedRunner,
  client: Pick<JobApiClient, 'lastRequestLongPolled'>,
  token: string,
): SupervisedRunner {
  const source = runner.source;
  return {
    ...runner,
    source: {
      async request(signal) {
        const outcome = await source.request(signal);
        if (outcome.kind === 'no-job' && outcome.healthy && client.lastRequestLongPolled(token))
          return { ...outcome, again: true };
        return outcome;
      },
    },
  };
}
