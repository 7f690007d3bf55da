// Which runner process owns a Docker object: `<host>/<pid>/<instance>` in the `dev.runnerkit.owner` label. A restarted
// runner removes the job containers of an owner that is gone (killed or crashed: nothing else would remove them),
// and never those of a process still running on this host, or of any process on another host sharing the daemon.
import { randomUUID } from 'node:crypto';

export interface ProcessOwner {
  /** The label value of this process. */
  readonly value: string;
  /** Whether the process named by a label value is gone for good (false when unsure). */
  isGone(owner: string): boolean;
}

/** Whether a process exists: signal 0 checks without sending anything (EPERM: it exists, another user's). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function createProcessOwner(
  host: string,
  pid: number,
  exists: (pid: number) => boolean = processExists,
  instance: string = randomUUID(),
): ProcessOwner {
  const value = `${host}/${pid}/${instance}`;
  return {
    value,
    isGone(owner) {
      const match = /^(.*)\/(\d+)\/([^/]+)$/.exec(owner);
      if (!match) return false;
      const [, ownerHost, ownerPid, ownerInstance] = match;
      if (ownerHost !== host || ownerInstance === instance) return false;
      // Our own pid under another instance: an earlier process that had it (pid 1 in a restarted container).
      if (Number(ownerPid) === pid) return true;
      return !exists(Number(ownerPid));
    },
  };
}
