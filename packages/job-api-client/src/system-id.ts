import { createHmac, randomInt } from 'node:crypto';

/** `s_` + 12 characters (derived from the machine) or `r_` + 12 random ones (spec §1). */
export const SYSTEM_ID_PATTERN = /^[sr]_[0-9a-zA-Z]{12}$/;

export function isValidSystemId(value: string | undefined | null): value is string {
  return typeof value === 'string' && SYSTEM_ID_PATTERN.test(value);
}

const ALPHANUMERIC = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * A new system ID as GitLab Runner derives one: HMAC-SHA256 keyed with the machine ID (the caller reads it, e.g.
 * from /etc/machine-id) over a fixed text, hex, first 12 characters, `s_` prefix; without a machine ID, `r_` and
 * 12 random alphanumerics. The caller keeps it (GitLab Runner: `.runner_system_id`) and reuses a valid one.
 */
export function createSystemId(machineId?: string | null): string {
  const id = machineId?.trim();
  if (id) return `s_${createHmac('sha256', id).update('runnerkit').digest('hex').slice(0, 12)}`;
  let out = 'r_';
  for (let i = 0; i < 12; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}
