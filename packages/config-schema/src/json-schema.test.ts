import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { plainValue } from './canonicalize.js';
import { createJsonSchema } from './index.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'spec', 'fixtures', 'config');
const committed = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'config.schema.json'), 'utf8'));

function rawJson(directory: string, name: string): unknown {
  return plainValue(parse(readFileSync(join(FIXTURES, directory, `${name}.toml`), 'utf8'), { integersAsBigInt: true }));
}

describe('JSON Schema export', () => {
  it('the committed config.schema.json is current (regenerate: pnpm --filter @runnerkit/config-schema generate-schema)', () => {
    expect(createJsonSchema()).toEqual(committed);
  });

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(committed);

  it.each([
    'cache-backends',
    'docker-autoscaler',
    'docker-full',
    'docker-machine',
    'feature-flags',
    'global-settings',
    'kubernetes-passthrough',
    'minimal-shell',
    'registered-docker',
    'runner-extras',
    'ssh-and-custom',
    'unknown-keys',
    'vm-executors',
  ])('accepts the valid fixture %s', (name) => {
    expect(validate(rawJson('valid', name)), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(['limit-string', 'feature-flag-string', 'runners-single-table', 'services-single-table'])(
    'rejects the type-mismatch fixture %s',
    (name) => {
      expect(validate(rawJson('invalid', name))).toBe(false);
    },
  );

  it('offers completions for keys of every section', () => {
    const runner = committed.properties.runners.items.properties;
    expect(Object.keys(runner)).toContain('tls-ca-file');
    expect(Object.keys(runner.docker.properties)).toContain('services_tmpfs');
    expect(runner.executor.enum).toContain('docker-autoscaler');
    expect(Object.keys(runner.cache.properties.s3.properties)).toContain('ServerAddress');
    expect(runner.docker.additionalProperties).toBe(true);
  });
});
