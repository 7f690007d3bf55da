import { describe, expect, it } from 'vitest';
import fixture from './__fixtures__/allowed-images.json' with { type: 'json' };
import {
  isPrivilegedImageAllowed,
  isPrivilegedServiceAllowed,
  matchesAllowList,
  verifyAllowedImage,
} from './allowed.js';
import { DisallowedImageError } from './errors.js';

describe('allowed_images fixture (GitLab Runner test table)', () => {
  it.each(fixture.cases.map((entry) => [entry.image, entry.allowed, entry.internal, entry.expected_allowed] as const))(
    '%s against %j (internal %j) → %s',
    (image, allowed, internal, expected) => {
      expect(verifyAllowedImage({ image, allowed, internal, kind: 'images' }).allowed).toBe(expected);
    },
  );
});

describe('allow-list semantics', () => {
  it('allows everything when the list is absent or empty, unlike an explicit */*:*', () => {
    expect([
      matchesAllowList('ruby:2.1', undefined),
      matchesAllowList('ruby:2.1', []),
      matchesAllowList('ruby:2.1', ['*/*:*']),
      matchesAllowList('library/ruby:2.1', ['*/*:*']),
    ]).toEqual([true, true, false, true]);
  });

  it('matches the docs examples for a private registry', () => {
    const privateOnly = ['my.registry.tld:5000/*:*'];
    const listed = ['my.registry.tld:5000/ruby:*', 'my.registry.tld:5000/node:*'];
    expect([
      matchesAllowList('my.registry.tld:5000/ruby:3.3', privateOnly),
      matchesAllowList('my.registry.tld:5000/group/ruby:3.3', privateOnly),
      matchesAllowList('my.registry.tld:5000/ruby', privateOnly),
      matchesAllowList('ruby:3.3', privateOnly),
      matchesAllowList('my.registry.tld:5000/node:20', listed),
      matchesAllowList('my.registry.tld:5000/python:3', listed),
      matchesAllowList('postgres:9.4', ['postgres:9.4', 'postgres:latest']),
      matchesAllowList('postgres:9.5', ['postgres:9.4', 'postgres:latest']),
      matchesAllowList('docker:24-dind-rootless', [
        'docker.io/library/docker:*-dind-rootless',
        'docker:*-dind-rootless',
      ]),
      matchesAllowList('docker:24-dind', ['docker.io/library/docker:*-dind-rootless', 'docker:*-dind-rootless']),
    ]).toEqual([true, false, false, false, true, false, true, false, true, false]);
  });

  it('prints GitLab Runner’s job-log lines and fails with "disallowed image"', () => {
    const decision = verifyAllowedImage({ image: 'alpine:3', allowed: ['ruby:*', 'python:*'], kind: 'images' });
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.lines.map((line) => line.text).join('\n')).toMatchInlineSnapshot(`
      "
      ERROR: The "alpine:3" image is not present on list of allowed images:
      - ruby:*
      - python:*

      Please check runner's allowed_images configuration: https://docs.gitlab.com/runner/configuration/advanced-configuration/"
    `);
    expect(decision.error).toBeInstanceOf(DisallowedImageError);
    expect([decision.error.code, decision.error.message, decision.error.failureReason]).toEqual([
      'IMAGE_POLICY_DISALLOWED_IMAGE',
      'disallowed image',
      'runner_configuration_error',
    ]);
  });

  it('names the services list for services and always allows config.toml services', () => {
    const refused = verifyAllowedImage({ image: 'mysql:8', allowed: ['postgres:*'], kind: 'services' });
    expect(refused.allowed ? [] : refused.lines[1]!.text).toBe(
      'ERROR: The "mysql:8" image is not present on list of allowed services:',
    );
    expect(
      verifyAllowedImage({ image: 'mysql:8', allowed: ['postgres:*'], internal: ['mysql:8'], kind: 'services' })
        .allowed,
    ).toBe(true);
  });

  it('decides privileged mode for images and services', () => {
    const dind = ['docker:*-dind-rootless'];
    expect([
      isPrivilegedImageAllowed({ privileged: true, image: 'ruby:3', allowedPrivilegedImages: undefined }),
      isPrivilegedImageAllowed({ privileged: false, image: 'ruby:3', allowedPrivilegedImages: undefined }),
      isPrivilegedImageAllowed({ privileged: true, image: 'ruby:3', allowedPrivilegedImages: dind }),
      isPrivilegedServiceAllowed({
        privileged: false,
        servicesPrivileged: true,
        service: 'docker:24-dind-rootless',
        allowedPrivilegedServices: dind,
      }),
      isPrivilegedServiceAllowed({
        privileged: true,
        servicesPrivileged: false,
        service: 'docker:24-dind-rootless',
        allowedPrivilegedServices: dind,
      }),
      isPrivilegedServiceAllowed({ privileged: true, service: 'docker:24-dind', allowedPrivilegedServices: dind }),
      isPrivilegedServiceAllowed({ privileged: true, service: 'docker:24-dind', allowedPrivilegedServices: [] }),
    ]).toEqual([true, false, false, true, false, false, true]);
  });
});
