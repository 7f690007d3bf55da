import { describe, expect, it } from 'vitest';
import fixture from './__fixtures__/service-aliases.json' with { type: 'json' };
import { InvalidReferenceError, type InvalidServiceAliasError } from './errors.js';
import { hostnameProblem, parseServiceImage, parseUserAliases, serviceAliases } from './services.js';

describe('service aliases fixture (GitLab Runner test table)', () => {
  it.each(fixture.cases.map((entry) => [entry.reference, entry] as const))('%s', (reference, entry) => {
    expect(parseServiceImage(reference)).toEqual({
      reference,
      service: entry.service,
      version: entry.version,
      imageToPull: entry.image_to_pull,
      aliases: entry.aliases,
    });
  });
});

describe('service aliases', () => {
  it('gives the docs example its two hostnames', () => {
    expect([
      serviceAliases('tutum/wordpress:latest'),
      serviceAliases('registry.gitlab-wp.com:4999/tutum/wordpress'),
    ]).toEqual([
      ['tutum__wordpress', 'tutum-wordpress'],
      ['registry.gitlab-wp.com__tutum__wordpress', 'registry.gitlab-wp.com-tutum-wordpress'],
    ]);
  });

  it('appends the user’s aliases, space- or comma-separated, without repeats', () => {
    expect([
      serviceAliases('postgres:9', 'postgres-db'),
      serviceAliases('redis:2.8', 'cache  kv,store'),
      serviceAliases('mysql:latest', 'mysql db'),
      serviceAliases('registry.example.com/svc1', 'svc1'),
      serviceAliases('redis', ''),
    ]).toEqual([
      ['postgres', 'postgres-db'],
      ['redis', 'cache', 'kv', 'store'],
      ['mysql', 'db'],
      ['registry.example.com__svc1', 'registry.example.com-svc1', 'svc1'],
      ['redis'],
    ]);
  });

  it('refuses user aliases that are not hostnames', () => {
    const refused = ['db_1', '-db', 'db-', 'a..b', 'x'.repeat(64), `${'a.'.repeat(127)}a`, 'db/1', 'dé'].map(
      (alias) => {
        try {
          parseUserAliases(alias);
          return 'accepted';
        } catch (error) {
          return (error as InvalidServiceAliasError).code;
        }
      },
    );
    expect(refused).toEqual(Array(8).fill('IMAGE_POLICY_INVALID_SERVICE_ALIAS'));
    expect(() => serviceAliases('redis', 'ok bad_alias')).toThrow(
      `invalid service alias "bad_alias": label "bad_alias" must consist of letters, digits and '-', and start and end with a letter or digit`,
    );
    expect([
      hostnameProblem('db'),
      hostnameProblem('Cache.Local'),
      hostnameProblem('1db'),
      hostnameProblem(''),
    ]).toEqual([undefined, undefined, undefined, 'it is empty']);
  });

  it('refuses service references Docker would refuse', () => {
    expect(() => parseServiceImage('Redis')).toThrow(InvalidReferenceError);
  });

  it('handles a tag and a digest together (the digest is the version)', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(parseServiceImage(`localhost:5000/ns/redis:7@${digest}`)).toEqual({
      reference: `localhost:5000/ns/redis:7@${digest}`,
      service: 'localhost/ns/redis',
      version: `@${digest}`,
      imageToPull: `localhost:5000/ns/redis:7@${digest}`,
      aliases: ['localhost__ns__redis', 'localhost-ns-redis'],
    });
  });
});
