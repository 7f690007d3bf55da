import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, createProgram, requestedCommand } from './cli.js';

describe('the command tree', () => {
  it('finds the command being run past global flags and their values, and behind `help`', () => {
    expect(requestedCommand(['run', '-c', 'x.toml'])).toBe('run');
    expect(requestedCommand(['--debug', '--log-level', 'debug', 'exec', 'build'])).toBe('exec');
    expect(requestedCommand(['-l', 'warn', '--log-format=json', 'list'])).toBe('list');
    expect(requestedCommand(['help', 'register'])).toBe('register');
    expect(requestedCommand(['--help'])).toBeUndefined();
    expect(requestedCommand([])).toBeUndefined();
  });

  it('describes each command in --help exactly as its module does', async () => {
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const program = new Command();
      (await entry.load())(program);
      const loaded = program.commands.find((command) => command.name() === name);
      expect(loaded?.description(), name).toBe(entry.description);
    }
  });

  it('loads only the named command; the others are listed for --help', async () => {
    const program = await createProgram(['--debug', 'run', '-c', 'x.toml']);
    const run = program.commands.find((command) => command.name() === 'run');
    const exec = program.commands.find((command) => command.name() === 'exec');
    expect(run?.options.map((option) => option.long)).toContain('--config');
    expect(exec?.options).toEqual([]);
    expect(program.commands.map((command) => command.name())).toEqual(Object.keys(COMMANDS));
  });
});
