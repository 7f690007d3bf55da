import { spawn } from 'node:child_process';
import type { CredentialHelperRunner } from './credentials.js';

export interface SpawnCredentialHelperOptions {
  /**
   * Environment of the helper process (it is found through this environment's PATH). When omitted the
   * helper inherits the runner's environment, as `docker` does.
   */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Kill the helper after this long (default 30 s). */
  readonly timeoutMilliseconds?: number | undefined;
}

/**
 * A {@link CredentialHelperRunner} that spawns `docker-credential-<helper> <action>`, writes the input to its
 * stdin and resolves with its stdout. Opt in by passing it as `runCredentialHelper`; nothing is spawned otherwise.
 */
export function spawnCredentialHelper(options: SpawnCredentialHelperOptions = {}): CredentialHelperRunner {
  return (helper, action, input) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(`docker-credential-${helper}`, [action], {
        env: options.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: options.timeoutMilliseconds ?? 30_000,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const out = Buffer.concat(stdout).toString('utf8');
        if (code === 0) {
          resolve(out);
          return;
        }
        // Helpers report errors (e.g. "credentials not found in native keychain") on stdout.
        const detail = (out.trim() || Buffer.concat(stderr).toString('utf8').trim() || `exit ${code ?? signal}`).trim();
        reject(new Error(detail));
      });
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
}
