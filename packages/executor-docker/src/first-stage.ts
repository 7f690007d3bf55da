// The job's first stage (prepare_script) through the build container's PID 1 instead of an exec.
//
// PID 1 is GitLab's shell detection script reading commands from its stdin, which stays open (OpenStdin,
// StdinOnce=false). The executor attaches to it before the start; the first stage's script is written there as
// one subshell, framed by markers with a random nonce on both streams, so its output and exit code are known
// without an exec (each exec costs a runc call, ~50 ms). Only the runner-generated first stage goes this way: user
// commands keep running by exec, with their own stdin, and every later stage too. Detaching leaves the
// container's stdin open (StdinOnce=false), so PID 1 keeps waiting as before.
import { randomBytes } from 'node:crypto';
import type { AttachedSession } from '@runnerkit/docker-engine-client';

const RS = 0x1e;

/** Cuts one stream's output to what lies between the begin marker and the end marker `RS<end>…RS`. */
export class MarkedStream {
  private started = false;
  private pending: Buffer = Buffer.alloc(0);
  /** Text between the end marker's prefix and its closing RS (the exit code on stdout). */
  value: string | undefined;

  constructor(
    private readonly begin: Buffer,
    private readonly end: Buffer,
    private readonly emit: (data: Buffer) => void,
  ) {}

  get done(): boolean {
    return this.value !== undefined;
  }

  push(data: Buffer): void {
    if (this.done) return;
    let buffer = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    this.pending = Buffer.alloc(0);
    if (!this.started) {
      const at = buffer.indexOf(this.begin);
      if (at === -1) {
        // output before the stage (e.g. an entrypoint's) is not the stage's; keep a possible partial marker
        this.pending = buffer.subarray(Math.max(0, buffer.length - this.begin.length + 1));
        return;
      }
      this.started = true;
      buffer = buffer.subarray(at + this.begin.length);
    }
    const at = buffer.indexOf(this.end);
    if (at !== -1) {
      const close = buffer.indexOf(RS, at + this.end.length);
      if (at > 0) this.emit(buffer.subarray(0, at));
      if (close === -1) {
        this.pending = buffer.subarray(at);
        return;
      }
      this.value = buffer.subarray(at + this.end.length, close).toString('latin1');
      return;
    }
    // hold back a tail that could be the start of the end marker
    const separator = buffer.lastIndexOf(RS);
    const cut = separator !== -1 && separator > buffer.length - this.end.length ? separator : buffer.length;
    if (cut > 0) this.emit(buffer.subarray(0, cut));
    this.pending = buffer.subarray(cut);
  }
}

/** The shell program that runs `script` in a subshell between the markers (stdin of the stage: /dev/null). */
export function framedProgram(script: string, nonce: string): string {
  const begin = `printf '\\036RKB${nonce}\\036'; printf '\\036RKB${nonce}\\036' >&2`;
  const end = `printf '\\036RKE${nonce}:%d\\036' "$rk_status"; printf '\\036RKE${nonce}:\\036' >&2`;
  return `${begin}\n(\n${script.endsWith('\n') ? script : `${script}\n`}) </dev/null\nrk_status=$?\n${end}\n`;
}

/**
 * Runs `script` through PID 1's attached stdin; resolves with its exit code, or `undefined` when the attach
 * stream ended before the stage did (the container stopped, or the stage was aborted).
 */
export async function runThroughInit(
  session: AttachedSession,
  script: string,
  write: (data: Buffer, stream: 'stdout' | 'stderr') => void,
): Promise<number | undefined> {
  const nonce = randomBytes(8).toString('hex');
  const begin = Buffer.from(`\x1eRKB${nonce}\x1e`);
  const end = Buffer.from(`\x1eRKE${nonce}:`);
  const stdout = new MarkedStream(begin, end, (data) => write(data, 'stdout'));
  const stderr = new MarkedStream(begin, end, (data) => write(data, 'stderr'));
  session.stdin.on('error', () => {});
  session.stdin.write(framedProgram(script, nonce));
  for await (const piece of session) {
    (piece.stream === 'stderr' ? stderr : stdout).push(piece.data);
    if (stdout.done && stderr.done) break;
  }
  if (!stdout.done || !stderr.done) return undefined;
  const code = Number.parseInt(stdout.value ?? '', 10);
  return Number.isNaN(code) ? undefined : code | 0;
}
