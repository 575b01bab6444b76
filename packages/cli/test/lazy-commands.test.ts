import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commands, commandsFor } from '../src/commands/index.js';
import type { CommandContext } from '../src/context.js';
import { runCli } from './helpers.js';

const context: CommandContext = {
  io: { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' },
  exit: () => undefined,
  printJson: () => undefined,
  print: () => undefined,
  note: () => undefined,
};

describe('lazy command loading', () => {
  it('names each command as its module registers it', async () => {
    for (const command of commands) {
      const program = new Command('plumbline');
      (await command.load())(program, context);
      expect(program.commands.map((c) => c.name())).toEqual([command.name]);
    }
  });

  it('loads no command for --version, only the named one for a command, all for help', () => {
    const names = (argv: string[]): string[] => commandsFor(argv).map((c) => c.name);
    const all = commands.map((c) => c.name);
    expect(names(['--version'])).toEqual([]);
    expect(names(['-V', '--debug'])).toEqual([]);
    expect(names(['manifest', 'config/', '--json'])).toEqual(['manifest']);
    expect(names(['--debug', 'seal', '--help'])).toEqual(['seal']);
    expect(names(['help', 'fleet'])).toEqual(['fleet']);
    expect(names([])).toEqual(all);
    expect(names(['--help'])).toEqual(all);
    expect(names(['--version', '--help'])).toEqual(all);
    expect(names(['help'])).toEqual(all);
    expect(names(['manifets'])).toEqual(all);
  });

  it('lists every command in the program help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of commands)
      expect(result.stdout).toMatch(new RegExp(`^  ${command.name} `, 'm'));
  });

  it('suggests the closest command for a misspelt one', async () => {
    const result = await runCli(['manifets']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(did you mean manifest?)');
  });
});
