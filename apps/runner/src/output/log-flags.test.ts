import { LOG_FORMATS, LOG_LEVELS } from '@runnerkit/config-schema';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addLogOptions, LOG_FORMAT_NAMES, LOG_LEVEL_NAMES, logCliOptions } from './log-flags.js';

describe('global log flags', () => {
  it('name the levels and formats config-schema accepts', () => {
    expect([...LOG_LEVEL_NAMES]).toEqual([...LOG_LEVELS]);
    expect([...LOG_FORMAT_NAMES]).toEqual([...LOG_FORMATS]);
  });

  it('are read before or after the command name', async () => {
    const seen: unknown[] = [];
    const program = addLogOptions(new Command().exitOverride());
    program.command('run').action((_options, command: Command) => void seen.push(logCliOptions(command)));
    await program.parseAsync(['--debug', 'run', '--log-format', 'json'], { from: 'user' });
    expect(seen).toEqual([{ debug: true, logFormat: 'json' }]);
  });
});
