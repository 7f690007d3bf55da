import type { z } from 'zod';
import { bool, str, table } from './types.js';

/** `[runners.ssh]` (§5.4). `port` is a string in GitLab Runner; `port = 22` is a type error there too. */
export const sshSchema = table({
  host: str(),
  port: str(),
  user: str(),
  password: str(),
  identity_file: str(),
  disable_strict_host_key_checking: bool(),
  known_hosts_file: str(),
});
export type SshConfig = z.output<typeof sshSchema>;
