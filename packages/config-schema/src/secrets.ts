import type { z } from 'zod';
import { configSchema, type Config } from './schema/global.js';
import { isTable, nodeInfo } from './schema/types.js';

/** What every redacted value is replaced with (GitLab Runner's own marker). */
export const MASKED = '[MASKED]';

/** Names that suggest a credential, in `environment` entries, machine options, plugin config and unknown keys. */
export const SECRET_NAME = /TOKEN|PASSWORD|PASSWD|SECRET|KEY|AUTH|CREDENTIAL/i;

type Table = Record<string, unknown>;

const mask = (value: unknown) =>
  typeof value === 'string' && value === '' ? value : value === undefined ? value : MASKED;

function maskKeys(table: unknown, keys: readonly string[]): void {
  if (!isTable(table)) return;
  for (const key of keys) if (key in table) table[key] = mask(table[key]);
}

/** Replaces the password (or the whole userinfo) of a URL-like string. */
export function redactUrl(value: string): string {
  return value.replace(
    /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?([^/@\s]+)@/,
    (_all, scheme: string | undefined, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      const user = colon === -1 ? MASKED : `${userinfo.slice(0, colon)}:${MASKED}`;
      return `${scheme ?? ''}${user}@`;
    },
  );
}

function maskUrlKeys(table: unknown, keys: readonly string[]): void {
  if (!isTable(table)) return;
  for (const key of keys) if (typeof table[key] === 'string') table[key] = redactUrl(table[key] as string);
}

/** `NAME=value` entries whose name looks like a credential get their value masked. */
function maskAssignments(list: unknown, separator = '='): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((entry) => {
    if (typeof entry !== 'string') return entry;
    const at = entry.indexOf(separator);
    if (at <= 0 || at === entry.length - 1) return entry;
    return SECRET_NAME.test(entry.slice(0, at)) ? `${entry.slice(0, at + 1)}${MASKED}` : entry;
  });
}

/** Plugin config values under credential-like keys, at any depth. */
function maskDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskDeep);
  if (!isTable(value)) return value;
  for (const [key, item] of Object.entries(value)) {
    value[key] = SECRET_NAME.test(key) && !isTable(item) && !Array.isArray(item) ? mask(item) : maskDeep(item);
  }
  return value;
}

/** Unknown keys with credential-like names, anywhere (the schema tells known from unknown). */
function maskUnknown(value: unknown, schema: z.ZodType): void {
  const info = nodeInfo(schema);
  if (!info) return;
  if (info.kind === 'tables' && Array.isArray(value)) {
    for (const item of value) maskUnknown(item, info.element);
  } else if (info.kind === 'table' && isTable(value)) {
    for (const [key, item] of Object.entries(value)) {
      const known = info.shape[key];
      if (known) maskUnknown(item, known);
      else
        value[key] = SECRET_NAME.test(key)
          ? isTable(item) || Array.isArray(item)
            ? maskDeep(item)
            : mask(item)
          : item;
    }
  }
}

/**
 * A deep copy of the config with every secret replaced by `[MASKED]` (config-toml.md §7): runner tokens, Kubernetes
 * bearer token, S3/GCS/Azure keys (also the legacy pre-12.0 cache keys), ssh and autoscaler connector passwords,
 * the Sentry DSN's key, passwords inside URLs, credential-like `environment` entries, machine options, plugin
 * config values and unknown keys. Empty secrets stay `""` so users can see they are unset.
 */
export function redactSecrets<T extends Config>(config: T): T {
  const copy = structuredClone(config) as T & Table;
  if (typeof copy.sentry_dsn === 'string' && copy.sentry_dsn !== '') {
    const redacted = redactUrl(copy.sentry_dsn);
    copy.sentry_dsn = redacted === copy.sentry_dsn ? MASKED : redacted;
  }
  maskUnknown(copy, configSchema);
  for (const runner of (copy.runners ?? []) as Table[]) {
    maskKeys(runner, ['token']);
    maskUrlKeys(runner, ['url', 'clone_url']);
    runner.environment = maskAssignments(runner.environment);
    const kubernetes = runner.kubernetes as Table | undefined;
    maskKeys(kubernetes, ['bearer_token']);
    if (isTable(kubernetes) && Array.isArray(kubernetes.services)) {
      for (const service of kubernetes.services)
        if (isTable(service)) service.environment = maskAssignments(service.environment);
    }
    const cache = runner.cache as Table | undefined;
    maskKeys(cache, ['AccessKey', 'SecretKey']);
    if (isTable(cache)) {
      maskKeys(cache.s3, ['AccessKey', 'SecretKey', 'SessionToken']);
      maskUrlKeys(cache.s3, ['ServerAddress']);
      maskKeys(cache.gcs, ['PrivateKey']);
      maskKeys(cache.azure, ['AccountKey']);
    }
    maskKeys(runner.ssh, ['password']);
    const docker = runner.docker as Table | undefined;
    maskUrlKeys(docker, ['host']);
    if (isTable(docker) && Array.isArray(docker.services)) {
      for (const service of docker.services)
        if (isTable(service)) service.environment = maskAssignments(service.environment);
    }
    const referees = runner.referees as Table | undefined;
    if (isTable(referees)) maskUrlKeys(referees.metrics, ['prometheus_address']);
    const machine = runner.machine as Table | undefined;
    if (isTable(machine)) {
      machine.MachineOptions = maskAssignments(machine.MachineOptions);
      machine.MachineOptionsWithName = maskAssignments(machine.MachineOptionsWithName);
    }
    const autoscaler = runner.autoscaler as Table | undefined;
    if (isTable(autoscaler)) {
      maskKeys(autoscaler.connector_config, ['password']);
      if (autoscaler.plugin_config !== undefined) autoscaler.plugin_config = maskDeep(autoscaler.plugin_config);
      const isolation = autoscaler.vm_isolation;
      if (isTable(isolation)) {
        maskKeys(isolation.connector_config, ['password']);
        if (isolation.nesting_config !== undefined) isolation.nesting_config = maskDeep(isolation.nesting_config);
      }
    }
  }
  return copy;
}

/** A token shortened for log lines: the `glrt-` prefix plus up to 8 characters, or the first 8 characters. */
export function shortTokenForDisplay(token: string): string {
  return token.startsWith('glrt-') ? token.slice(0, 13) : token.slice(0, 8);
}
