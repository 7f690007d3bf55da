// OpenSSH known_hosts matching (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and hashed host names, `[host]:port`,
// wildcard and negated patterns, `@revoked` keys. `@cert-authority` lines are skipped (no certificates here).
import { createHash, createHmac } from 'node:crypto';

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked';

interface KnownHostLine {
  marker: '' | '@revoked' | '@cert-authority';
  hosts: string;
  key: Buffer;
}

function parseLines(text: string): KnownHostLine[] {
  const lines: KnownHostLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostLine['marker'] = '';
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostLine['marker'];
    const [hosts, , base64] = fields;
    if (!hosts || !base64) continue;
    lines.push({ marker, hosts, key: Buffer.from(base64, 'base64') });
  }
  return lines;
}

/** The name a host is known by: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcard(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(text);
}

function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcard(pattern.slice(1), name)) return false;
    } else if (wildcard(pattern, name)) matched = true;
  }
  return matched;
}

/** Checks a server's host key blob (as sent in the key exchange) against known_hosts text. */
export function checkHostKey(knownHosts: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const lines = parseLines(knownHosts);
  if (lines.some((line) => line.marker === '@revoked' && line.key.equals(key))) return 'revoked';
  const forHost = lines.filter((line) => line.marker === '' && hostsMatch(line.hosts, name));
  if (forHost.some((line) => line.key.equals(key))) return 'match';
  return forHost.length > 0 ? 'mismatch' : 'unknown';
}

/** `ssh-ed25519 SHA256:…`, as ssh prints a host key. */
export function describeHostKey(key: Buffer): string {
  const typeLength = key.length >= 4 ? key.readUInt32BE(0) : 0;
  const type = typeLength > 0 && typeLength < key.length ? key.subarray(4, 4 + typeLength).toString('latin1') : 'key';
  const fingerprint = createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
  return `${type} SHA256:${fingerprint}`;
}
