// Services: definitions, aliases in both network modes, variables, health check, limits.
import { describe, expect, it } from 'vitest';
import { job, runAndInspect, testContext, variables } from './test-support/docker.js';

const context = testContext('services');
const { busybox, serviceHttp } = context.images;

const twoServices = [
  { name: serviceHttp, alias: 'web,www' },
  {
    name: busybox,
    alias: 'echo',
    entrypoint: ['sh', '-c'],
    command: ['exec nc -ll -p 7000 -e cat'],
    variables: [{ key: 'HEALTHCHECK_TCP_PORT', value: '7000' }],
  },
  // its automatic aliases are taken: they are skipped with a warning, `dup` remains
  { name: serviceHttp, alias: 'dup' },
];
const probes = [
  // every alias of the first service (automatic and user ones), then the second service's user alias
  ...['runnerkit-test__service-http', 'runnerkit-test-service-http', 'web', 'www'].map(
    (alias) => `echo ping-${alias} | nc -w 3 ${alias} 6379`,
  ),
  'echo ping-echo | nc -w 3 echo 7000',
  'echo ping-dup | nc -w 3 dup 6379',
];

describe('services', () => {
  for (const perBuild of [false, true]) {
    it(`two services are reachable by every alias (${perBuild ? 'network per build' : 'legacy links'})`, async () => {
      const executor = context.executor({
        docker: { pull_policy: ['if-not-present'], network_mtu: perBuild ? 1400 : 0 },
      });
      const { result, trace, build, services, network } = await runAndInspect(
        context,
        executor,
        job(probes, {
          services: twoServices,
          variables: variables(perBuild ? { FF_NETWORK_PER_BUILD: 'true' } : {}),
        }),
      );
      expect(result.outcome).toEqual({ status: 'success' });
      for (const alias of ['runnerkit-test__service-http', 'runnerkit-test-service-http', 'web', 'www', 'echo', 'dup'])
        expect(trace).toContain(`\nping-${alias}\n`);
      expect(trace).toContain(`Starting service runnerkit-test/service-http:latest...`);
      expect(trace).toContain('Waiting for services to be up and running (timeout 30 seconds)...');
      expect(trace).toContain(
        `WARNING: Skipping alias "runnerkit-test__service-http" for service "${serviceHttp}" (services[2]): alias is already in use by another service.`,
      );
      expect(trace).not.toContain("probably didn't start properly");
      expect(services).toHaveLength(3);
      const [http, echo] = services;
      expect(http!.Config.Labels?.['com.gitlab.gitlab-runner.type']).toBe('service');
      expect(http!.Config.Labels?.['com.gitlab.gitlab-runner.service']).toBe('runnerkit-test/service-http');
      expect(http!.Config.Labels?.['com.gitlab.gitlab-runner.service.version']).toBe('latest');
      expect(http!.Name).toMatch(/-runnerkit-test__service-http-0$/);
      expect(echo!.Config.Env).toContain('HEALTHCHECK_TCP_PORT=7000');
      expect(echo!.Config.Entrypoint).toEqual(['sh', '-c']);
      expect(echo!.Config.Cmd).toEqual(['exec nc -ll -p 7000 -e cat']);
      // public variables reach services; masked project variables do not
      expect(echo!.Config.Env).toContain('CI_JOB_ID=4242');
      if (perBuild) {
        expect(network!.Labels['com.gitlab.gitlab-runner.managed']).toBe('true');
        expect(network!.Options['com.docker.network.driver.mtu']).toBe('1400');
        const endpoint = Object.values(build!.NetworkSettings.Networks)[0]!;
        expect(endpoint.Aliases).toContain('build');
        expect(trace).not.toContain('CI_BUILD_NETWORK_NAME=');
      } else {
        expect(build!.HostConfig.ExtraHosts?.some((entry) => entry.startsWith('web:'))).toBe(true);
        expect(network).toBeUndefined();
      }
    });
  }

  it('an unhealthy service gets GitLab’s warning block with its logs; the job goes on', async () => {
    const executor = context.executor({ docker: { pull_policy: ['if-not-present'], wait_for_services_timeout: 2 } });
    const { result, trace } = await runAndInspect(
      context,
      executor,
      job(['echo after-warning'], {
        services: [
          {
            name: busybox,
            alias: 'silent',
            entrypoint: ['sh', '-c'],
            command: ['echo service-says-hello; sleep 30'],
            variables: [{ key: 'HEALTHCHECK_TCP_PORT', value: '7001' }],
          },
        ],
      }),
    );
    expect(result.outcome).toEqual({ status: 'success' });
    expect(trace).toContain('Waiting for services to be up and running (timeout 2 seconds)...');
    expect(trace).toMatch(
      /\*\*\* WARNING:\x1b\[0;m Service runner-[a-z0-9-]+-runnerkit-test__busybox-0 probably didn't start properly\./,
    );
    expect(trace).toMatch(
      /Health check error:\x1b\[0;m\n\x1b\[0Kservice "runner-[a-z0-9_-]+-0-wait-for-service" timeout/,
    );
    expect(trace).toContain('Service container logs:');
    expect(trace).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z service-says-hello/);
    expect(trace).toContain('\nafter-warning\n');
  });

  it('wait_for_services_timeout = -1 does not wait; services_limit refuses too many services', async () => {
    const noWait = context.executor({ docker: { pull_policy: ['if-not-present'], wait_for_services_timeout: -1 } });
    const first = await runAndInspect(context, noWait, job(['true'], { services: [{ name: serviceHttp }] }));
    expect(first.result.outcome).toEqual({ status: 'success' });
    expect(first.trace).not.toContain('Waiting for services');

    const limited = context.executor({ docker: { pull_policy: ['if-not-present'], services_limit: 1 } });
    const second = await runAndInspect(context, limited, job(['true'], { services: twoServices }));
    expect(second.result.outcome).toMatchObject({
      failureReason: 'runner_configuration_error',
      message: 'too many services requested: 3, only 1 allowed',
    });
  });

  it('[[runners.docker.services]] come first and count towards the limit; allowed_services refuses others', async () => {
    const executor = context.executor({
      docker: {
        pull_policy: ['if-not-present'],
        services: [{ name: serviceHttp, alias: 'fromconfig' }],
        allowed_services: ['nothing/*'],
      },
    });
    const refused = await runAndInspect(context, executor, job(['true'], { services: [{ name: busybox }] }));
    expect(refused.result.outcome).toMatchObject({ failureReason: 'runner_configuration_error' });
    expect(refused.trace).toContain(`The "${busybox}" image is not present on list of allowed services:`);

    const allowed = context.executor({
      docker: { pull_policy: ['if-not-present'], services: [{ name: serviceHttp, alias: 'fromconfig' }] },
    });
    const ok = await runAndInspect(context, allowed, job(['echo ping | nc -w 3 fromconfig 6379']));
    expect(ok.result.outcome).toEqual({ status: 'success' });
    expect(ok.trace).toContain('\nping\n');
  });
});
