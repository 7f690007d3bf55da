// The runner manager's system ID, kept as GitLab Runner keeps it (api-spec §1): `.runner_system_id` beside
// config.toml, reused when valid; otherwise `s_` + 12 hex characters derived from the machine ID, or `r_` + 12
// random alphanumerics without one, then saved. Used by register, verify, unregister, run and exec alike.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createSystemId, isValidSystemId } from '@runnerkit/job-api-client';

/** `.runner_system_id` beside config.toml. */
export function systemIdFile(configFile: string): string {
  return join(dirname(configFile), '.runner_system_id');
}

/** The OS machine ID (systemd's, then D-Bus's), if the machine has one. */
export async function readMachineId(): Promise<string | undefined> {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.trim() !== '') return text.trim();
  }
  return undefined;
}

/** Reads the state file beside `configFile`, or creates it. A state file that cannot be written is not an error. */
export async function loadOrCreateSystemId(
  configFile: string,
  machineId: () => Promise<string | undefined> = readMachineId,
): Promise<string> {
  const path = systemIdFile(configFile);
  const existing = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (isValidSystemId(existing)) return existing;
  const id = createSystemId(await machineId());
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => undefined);
  await writeFile(path, `${id}\n`, { mode: 0o600 }).catch(() => undefined);
  return id;
}
