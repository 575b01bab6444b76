import type { Command } from 'commander';
import type { CliIO } from './io.js';
import type { ExitCodeValue } from './exit-codes.js';

/**
 * What a command's action can use: the process IO and a way to set the exit code.
 *
 * @public
 */
export interface CommandContext {
  /** The process IO the command reads from and writes to. */
  readonly io: CliIO;
  /** Sets the exit code the process ends with (the highest-priority one wins: see main.ts). */
  exit(code: ExitCodeValue): void;
  /** Writes a value as one JSON document and a newline to stdout. */
  printJson(value: unknown): void;
  /** Writes a line to stdout. */
  print(line: string): void;
  /** Writes a line to stderr (notes, progress), never data. */
  note(line: string): void;
}

/**
 * A command module registers one command (with its subcommands) on the program.
 *
 * @public
 */
export type CommandModule = (program: Command, context: CommandContext) => void;
