// A runner process that is killed leaves its job containers, networks and temporary volumes behind; the objects
// carry the process in `dev.runnerkit.owner`, and removeAbandonedResources (run by the next process) removes exactly
// those whose owner is gone — nothing of a live owner, of another runner, of GitLab Runner, or a reusable cache volume.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { removeAbandonedResources } from './cleanup.js';
import { jobLabels, type LabelInput, OWNER_LABEL } from './naming.js';
import { job, runAndInspect, testContext, variables } from './test-support/docker.js';

const context = testContext('abandoned');
const short = context.runnerToken.slice(8, 17);
const otherShort = `other${randomBytes(2).toString('hex')}`;
const created = { containers: [] as string[], networks: [] as string[], volumes: [] as string[] };

afterAll(async () => {
  for (const id of created.containers) await context.client.containers.remove(id, { force: true }).catch(() => {});
  for (const id of created.networks) await context.client.networks.remove(id).catch(() => {});
  for (const name of created.volumes) await context.client.volumes.remove(name, { force: true }).catch(() => {});
});

function labels(shortToken: string, owner: string | undefined, type: string, extra: Record<string, string> = {}) {
  const input: LabelInput = {
    jobId: 1,
    timeout: '1h0m0s',
    projectId: 3,
    concurrentProjectId: 0,
    shortToken,
    concurrentId: 0,
    systemId: 's_abandoned01',
    owner,
  };
  return jobLabels(input, type, extra);
}

async function container(name: string, containerLabels: Record<string, string>) {
  const { Id } = await context.client.containers.create(
    { Image: context.images.busybox, Cmd: ['sleep', '300'], Labels: containerLabels },
    { name: `rk-abandoned-${name}-${randomBytes(3).toString('hex')}` },
  );
  created.containers.push(Id);
  await context.client.containers.start(Id);
  return Id;
}

describe('removeAbandonedResources', () => {
  it('removes the containers (running ones too), networks and temporary volumes of gone owners only', async () => {
    const gone = 'host-a/111/gone';
    const alive = 'host-a/222/alive';
    const ids = {
      gone: await container('gone', labels(short, gone, 'build')),
      goneService: await container('gone-svc', labels(short, gone, 'service')),
      alive: await container('alive', labels(short, alive, 'build')),
      unowned: await container('unowned', labels(short, undefined, 'build')),
      otherRunner: await container('other', labels(otherShort, gone, 'build')),
    };
    const networkName = `rk-abandoned-net-${randomBytes(3).toString('hex')}`;
    const network = await context.client.networks.create({ Name: networkName, Labels: labels(short, gone, 'network') });
    created.networks.push(network.Id);
    const volume = (name: string, reusable: boolean, owner: string) =>
      context.client.volumes
        .create({ Name: name, Labels: labels(short, owner, 'cache', { reusable: String(reusable) }) })
        .then((created_) => {
          created.volumes.push(created_.Name);
          return created_.Name;
        });
    const temporaryVolume = await volume(`rk-abandoned-tmp-${randomBytes(3).toString('hex')}`, false, gone);
    const cacheVolume = await volume(`rk-abandoned-cache-${randomBytes(3).toString('hex')}`, true, gone);

    const asked: string[] = [];
    const report = await removeAbandonedResources(context.client, {
      shortToken: short,
      systemId: 's_abandoned01',
      isOwnerGone: (owner) => {
        asked.push(owner);
        return owner === gone;
      },
    });

    expect(new Set(report.containers)).toEqual(new Set([ids.gone, ids.goneService]));
    expect(report.networks).toEqual([networkName]);
    expect(report.volumes).toEqual([temporaryVolume]);
    expect(new Set(asked)).toEqual(new Set([gone, alive]));
    const remaining = new Set((await context.client.containers.list({ all: true })).map((c) => c.Id));
    expect(remaining.has(ids.gone) || remaining.has(ids.goneService)).toBe(false);
    for (const id of [ids.alive, ids.unowned, ids.otherRunner]) expect(remaining.has(id)).toBe(true);
    expect((await context.client.volumes.inspect(cacheVolume)).Name).toBe(cacheVolume);
    await expect(context.client.volumes.inspect(temporaryVolume)).rejects.toMatchObject({ statusCode: 404 });

    // a second sweep finds nothing more; a different system_id matches nothing
    expect(
      await removeAbandonedResources(context.client, { shortToken: short, isOwnerGone: (owner) => owner === gone }),
    ).toEqual({ containers: [], networks: [], volumes: [] });
    expect(
      await removeAbandonedResources(context.client, {
        shortToken: short,
        systemId: 's_someoneelse',
        isOwnerGone: () => true,
      }),
    ).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it("the executor marks a job's containers and per-job network with its owner", async () => {
    const executor = context.executor({ owner: 'host-b/333/proc' });
    const observed = await runAndInspect(
      context,
      executor,
      job(['echo owned'], {
        services: [{ name: context.images.serviceHttp }],
        variables: variables({ FF_NETWORK_PER_BUILD: 'true' }),
      }),
    );
    expect(observed.result.outcome).toEqual({ status: 'success' });
    expect(observed.build?.Config.Labels?.[OWNER_LABEL]).toBe('host-b/333/proc');
    expect(observed.services[0]?.Config.Labels?.[OWNER_LABEL]).toBe('host-b/333/proc');
    expect(observed.network?.Labels?.[OWNER_LABEL]).toBe('host-b/333/proc');
  });
});
