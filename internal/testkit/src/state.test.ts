import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COMPONENT_NAMES,
  MissingComponentError,
  readState,
  repositoryRoot,
  requireComponent,
  statePath,
} from './index.js';

describe('testkit', () => {
  it('finds the repository root by its pnpm-workspace.yaml', () => {
    expect(existsSync(join(repositoryRoot(), 'pnpm-workspace.yaml'))).toBe(true);
    expect(statePath()).toBe(join(repositoryRoot(), '.test-components', 'state.json'));
  });

  it('names the missing component and the command that starts it', () => {
    const error = new MissingComponentError('ssh', 'no entry');
    expect(error.message).toBe(
      'test component "ssh" is not available (no entry); start it with: scripts/test-components up sshd',
    );
    expect(error.component).toBe('ssh');
  });

  it('returns exactly the components the state file lists', () => {
    const state = readState();
    for (const name of COMPONENT_NAMES) {
      if (state[name] === undefined) expect(() => requireComponent(name)).toThrow(MissingComponentError);
      else expect(requireComponent(name)).toEqual(state[name]);
    }
  });
});
