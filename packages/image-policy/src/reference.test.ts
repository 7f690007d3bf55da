import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from './errors.js';
import {
  canonicalReference,
  credentialLookupPath,
  familiarReference,
  isImageId,
  parseImageReference,
  pullParameters,
  registryHost,
} from './reference.js';

const D1 = 'd1dbaf9665fe8b2175198e49438092fdbcf4d8934200942b94425301b17853c7';
const H64 = '123456789012345678901234567890123456789012345678901234567890abcd';

// [reference, domain, path, tag, digest] — every image named in the seeds, then Docker's edge cases.
const valid: Array<[string, string, string, string | undefined, string | undefined]> = [
  ['ruby:2.7', 'docker.io', 'library/ruby', '2.7', undefined],
  ['ruby:2.6', 'docker.io', 'library/ruby', '2.6', undefined],
  ['ruby:3.3', 'docker.io', 'library/ruby', '3.3', undefined],
  ['ruby:latest', 'docker.io', 'library/ruby', 'latest', undefined],
  ['golang:1.8', 'docker.io', 'library/golang', '1.8', undefined],
  ['postgres:9.3', 'docker.io', 'library/postgres', '9.3', undefined],
  ['postgres:9.4', 'docker.io', 'library/postgres', '9.4', undefined],
  ['postgres:11.7', 'docker.io', 'library/postgres', '11.7', undefined],
  ['postgres:9', 'docker.io', 'library/postgres', '9', undefined],
  ['postgres:latest', 'docker.io', 'library/postgres', 'latest', undefined],
  ['postgresql:14.3', 'docker.io', 'library/postgresql', '14.3', undefined],
  ['redis:latest', 'docker.io', 'library/redis', 'latest', undefined],
  ['redis:2.8', 'docker.io', 'library/redis', '2.8', undefined],
  ['mysql:latest', 'docker.io', 'library/mysql', 'latest', undefined],
  ['tutum/wordpress:latest', 'docker.io', 'tutum/wordpress', 'latest', undefined],
  ['tutum/wordpress', 'docker.io', 'tutum/wordpress', undefined, undefined],
  ['docker:dind', 'docker.io', 'library/docker', 'dind', undefined],
  ['docker:dind-rootless', 'docker.io', 'library/docker', 'dind-rootless', undefined],
  ['docker:git', 'docker.io', 'library/docker', 'git', undefined],
  ['docker.io/library/docker:dind-rootless', 'docker.io', 'library/docker', 'dind-rootless', undefined],
  ['super/sql:experimental', 'docker.io', 'super/sql', 'experimental', undefined],
  ['my/docker-build:image', 'docker.io', 'my/docker-build', 'image', undefined],
  ['my-image', 'docker.io', 'library/my-image', undefined, undefined],
  ['my.image', 'docker.io', 'library/my.image', undefined, undefined],
  ['my.registry.tld:5000/alpine:latest', 'my.registry.tld:5000', 'alpine', 'latest', undefined],
  ['my.registry.tld:5000/namespace/image:tag', 'my.registry.tld:5000', 'namespace/image', 'tag', undefined],
  ['registry.example.com:5000/namespace/image:tag', 'registry.example.com:5000', 'namespace/image', 'tag', undefined],
  ['registry.example.com:5000/private/image:latest', 'registry.example.com:5000', 'private/image', 'latest', undefined],
  ['registry.example.com/my/image:latest', 'registry.example.com', 'my/image', 'latest', undefined],
  ['registry.example.com/svc1', 'registry.example.com', 'svc1', undefined, undefined],
  [
    'my.registry.local/gitlab/gitlab-runner-helper:tag',
    'my.registry.local',
    'gitlab/gitlab-runner-helper',
    'tag',
    undefined,
  ],
  [
    'registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:arm64-latest',
    'registry.gitlab.com',
    'gitlab-org/gitlab-runner/gitlab-runner-helper',
    'arm64-latest',
    undefined,
  ],
  [
    'registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:alpine3.18-x86_64-v16.1.0-pwsh',
    'registry.gitlab.com',
    'gitlab-org/gitlab-runner/gitlab-runner-helper',
    'alpine3.18-x86_64-v16.1.0-pwsh',
    undefined,
  ],
  ['gitlab/gitlab-runner:alpine3.19-v16.1.0', 'docker.io', 'gitlab/gitlab-runner', 'alpine3.19-v16.1.0', undefined],
  ['registry.gitlab.com/gitlab-org/step-runner:v0', 'registry.gitlab.com', 'gitlab-org/step-runner', 'v0', undefined],
  [
    'mcr.microsoft.com/windows/servercore:1809_amd64',
    'mcr.microsoft.com',
    'windows/servercore',
    '1809_amd64',
    undefined,
  ],
  ['quay.io/podman/stable', 'quay.io', 'podman/stable', undefined, undefined],
  ['quay.io/buildah/stable', 'quay.io', 'buildah/stable', undefined, undefined],
  ['registry.tld/my/image:latest', 'registry.tld', 'my/image', 'latest', undefined],
  ['local_image:latest', 'docker.io', 'library/local_image', 'latest', undefined],
  [`ruby:2.6.8@sha256:${D1}`, 'docker.io', 'library/ruby', '2.6.8', `sha256:${D1}`],
  [
    'registry.gitlab-wp.com:4999/tutum/wordpress',
    'registry.gitlab-wp.com:4999',
    'tutum/wordpress',
    undefined,
    undefined,
  ],
  ['localhost/foo', 'localhost', 'foo', undefined, undefined],
  ['localhost:5000/foo:1', 'localhost:5000', 'foo', '1', undefined],
  ['127.0.0.1:5000/runnerkit-test/busybox:latest', '127.0.0.1:5000', 'runnerkit-test/busybox', 'latest', undefined],
  ['127.0.0.1:5001/runnerkit-test/busybox', '127.0.0.1:5001', 'runnerkit-test/busybox', undefined, undefined],
  ['index.docker.io/library/ruby:3', 'docker.io', 'library/ruby', '3', undefined],
  ['index.docker.io/ruby', 'docker.io', 'library/ruby', undefined, undefined],
  ['docker.io/ruby', 'docker.io', 'library/ruby', undefined, undefined],
  ['docker.io/user/app', 'docker.io', 'user/app', undefined, undefined],
  ['[::1]:5000/app:tag', '[::1]:5000', 'app', 'tag', undefined],
  ['a__b/c--d/e.f_g:TAG_1', 'docker.io', 'a__b/c--d/e.f_g', 'TAG_1', undefined],
  ['Foo/bar', 'Foo', 'bar', undefined, undefined],
  [`alpine@sha256:${D1}`, 'docker.io', 'library/alpine', undefined, `sha256:${D1}`],
  ['ubuntu:22.04', 'docker.io', 'library/ubuntu', '22.04', undefined],
  ['node:20-alpine', 'docker.io', 'library/node', '20-alpine', undefined],
  [`service@sha256:${H64}`, 'docker.io', 'library/service', undefined, `sha256:${H64}`],
  [
    `domain.tld:8080/namespace/service@sha256:${H64}`,
    'domain.tld:8080',
    'namespace/service',
    undefined,
    `sha256:${H64}`,
  ],
  [`sha256:${D1}`, 'docker.io', 'library/sha256', D1, undefined],
  ['x', 'docker.io', 'library/x', undefined, undefined],
  ['registry:5000/app', 'registry:5000', 'app', undefined, undefined],
  ['some-registry.example.com/a/b/c/d:1.0', 'some-registry.example.com', 'a/b/c/d', '1.0', undefined],
  ['ruby:_underscore', 'docker.io', 'library/ruby', '_underscore', undefined],
];

// [reference, Docker's reason]
const invalid: Array<[string, InvalidReferenceError['reason']]> = [
  ['', 'repository name must have at least one component'],
  ['Ruby', 'repository name must be lowercase'],
  ['registry.example.com/Upper', 'repository name must be lowercase'],
  ['ruby:', 'invalid reference format'],
  [':tag', 'invalid reference format'],
  ['ruby:tag:again', 'invalid reference format'],
  ['ruby:-tag', 'invalid reference format'],
  ['ruby@sha256:abc', 'invalid reference format'],
  [`ruby@sha256:${D1.slice(1)}`, 'invalid checksum digest length'],
  [`ruby@md5:${D1.slice(0, 32)}`, 'unsupported digest algorithm'],
  [`ruby@sha256:${D1.toUpperCase()}`, 'invalid checksum digest format'],
  ['-ruby', 'invalid reference format'],
  ['ruby-', 'invalid reference format'],
  ['a/', 'invalid reference format'],
  ['/a', 'invalid reference format'],
  ['a//b', 'invalid reference format'],
  [`ruby:${'t'.repeat(129)}`, 'invalid reference format'],
  [D1, 'cannot specify 64-byte hexadecimal strings'],
  ['a'.repeat(250), 'repository name must not be more than 255 characters'],
  ['ruby latest', 'invalid reference format'],
  ['http://registry/image', 'invalid reference format'],
  ['my.registry:port/x', 'invalid reference format'],
  ['ruby:2.7 ', 'invalid reference format'],
  ['café', 'invalid reference format'],
  ['$CI_REGISTRY_IMAGE:latest', 'invalid reference format'],
];

describe('parseImageReference', () => {
  it.each(valid)('parses %s', (reference, domain, path, tag, digest) => {
    const parsed = parseImageReference(reference);
    expect({ domain: parsed.domain, path: parsed.path, tag: parsed.tag, digest: parsed.digest }).toEqual({
      domain,
      path,
      tag,
      digest,
    });
    expect(parsed.name).toBe(`${domain}/${path}`);
    expect(parsed.original).toBe(reference);
  });

  it.each(invalid)('refuses %j: %s', (reference, reason) => {
    let caught: unknown;
    try {
      parseImageReference(reference);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidReferenceError);
    expect((caught as InvalidReferenceError).reason).toBe(reason);
    expect((caught as InvalidReferenceError).code).toBe('IMAGE_POLICY_INVALID_REFERENCE');
    expect((caught as InvalidReferenceError).message).toBe(`invalid image reference "${reference}": ${reason}`);
  });

  it('has at least 60 cases', () => {
    expect(valid.length + invalid.length).toBeGreaterThanOrEqual(60);
  });
});

describe('normalised forms', () => {
  it('gives the familiar and canonical forms Docker prints', () => {
    const forms = [
      'ruby',
      'tutum/wordpress:latest',
      'index.docker.io/library/ruby:3',
      '127.0.0.1:5000/app',
      `ruby:2.6.8@sha256:${D1}`,
    ].map((reference) => {
      const parsed = parseImageReference(reference);
      return [parsed.familiarName, familiarReference(parsed), canonicalReference(parsed)];
    });
    expect(forms).toEqual([
      ['ruby', 'ruby:latest', 'docker.io/library/ruby:latest'],
      ['tutum/wordpress', 'tutum/wordpress:latest', 'docker.io/tutum/wordpress:latest'],
      ['ruby', 'ruby:3', 'docker.io/library/ruby:3'],
      ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest', '127.0.0.1:5000/app:latest'],
      ['ruby', `ruby:2.6.8@sha256:${D1}`, `docker.io/library/ruby:2.6.8@sha256:${D1}`],
    ]);
  });

  it('pulls by the name as written, with the digest winning over the tag and latest by default', () => {
    expect(
      ['ruby', 'ruby:3', `ruby:2.6.8@sha256:${D1}`, '127.0.0.1:5000/runnerkit-test/busybox', 'docker.io/ruby:1'].map(
        (reference) => pullParameters(parseImageReference(reference)),
      ),
    ).toEqual([
      { fromImage: 'ruby', tag: 'latest' },
      { fromImage: 'ruby', tag: '3' },
      { fromImage: 'ruby', tag: `sha256:${D1}` },
      { fromImage: '127.0.0.1:5000/runnerkit-test/busybox', tag: 'latest' },
      { fromImage: 'docker.io/ruby', tag: '1' },
    ]);
  });

  it('looks credentials up by host (port included, lower-cased) and path, without library/', () => {
    expect(
      [
        'ruby:3',
        'index.docker.io/ruby',
        'docker.io/library/ruby',
        'Registry.Example.COM:5000/group/img:tag',
        `registry.example.com/group/img@sha256:${D1}`,
        '127.0.0.1:5001/runnerkit-test/busybox:latest',
      ].map((reference) => {
        const parsed = parseImageReference(reference);
        return [registryHost(parsed), credentialLookupPath(parsed)];
      }),
    ).toEqual([
      ['docker.io', 'docker.io/ruby'],
      ['docker.io', 'docker.io/ruby'],
      ['docker.io', 'docker.io/library/ruby'],
      ['registry.example.com:5000', 'registry.example.com:5000/group/img'],
      ['registry.example.com', 'registry.example.com/group/img'],
      ['127.0.0.1:5001', '127.0.0.1:5001/runnerkit-test/busybox'],
    ]);
  });

  it('recognises image IDs', () => {
    expect([isImageId(`sha256:${D1}`), isImageId(D1), isImageId('ruby:3')]).toEqual([true, false, false]);
  });
});
