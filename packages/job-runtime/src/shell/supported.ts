import { ShellNotSupportedError } from '../errors.js';
import type { ShellName } from '../executor/contract.js';

/** Throws ShellNotSupportedError unless the runtime can write scripts for `shell` (`bash`, `sh`). */
export function assertSupportedShell(shell: string): asserts shell is ShellName {
  if (shell !== 'bash' && shell !== 'sh') throw new ShellNotSupportedError(shell);
}
