import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createProcessOwner, processExists } from './process-owner.js';

describe('process owner of Docker objects', () => {
  it('is gone only for a dead process on this host or an earlier process with our pid', () => {
    const owner = createProcessOwner('host-a', 4000, (pid) => pid === 5000, 'me');
    expect(owner.value).toBe('host-a/4000/me');
    expect(owner.isGone('host-a/4000/me')).toBe(false); // this process
    expect(owner.isGone('host-a/4000/earlier')).toBe(true); // same pid, another instance: a restarted container
    expect(owner.isGone('host-a/5000/other')).toBe(false); // alive
    expect(owner.isGone('host-a/6000/dead')).toBe(true);
    expect(owner.isGone('host-b/6000/dead')).toBe(false); // another host sharing the daemon: not ours to judge
    expect(owner.isGone('garbage')).toBe(false);
    expect(owner.isGone('')).toBe(false);
  });

  it('tells a running process from one that exited', () => {
    expect(processExists(process.pid)).toBe(true);
    const child = spawnSync('true');
    expect(child.pid).toBeGreaterThan(0);
    expect(processExists(child.pid as number)).toBe(false);
  });
});
