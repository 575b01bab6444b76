import { Command, CommanderError } from 'commander';
import { SDK_VERSION } from '@plumbline/core';
import { commands } from './commands/index.js';
import type { CommandContext } from './context.js';
import { toPlumblineError } from './errors.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { processIO, type CliIO } from './io.js';

/**
 * Builds the `plumbline` program (commander) bound to the given IO.
 *
 * @internal
 */
export function buildProgram(io: CliIO, context: CommandContext): Command {
  const program = new Command('plumbline')
    .description('Configuration provenance and drift detection for API gateway fleets')
    .version(SDK_VERSION, '-V, --version')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) =>
        write(`plumbline: PLB_USAGE: ${text.replace(/^error: /, '').trimEnd()}\n`),
    });
  for (const register of commands) register(program, context);
  // Subcommands inherit exit override and output configuration.
  const configure = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride();
      sub.configureOutput(program.configureOutput());
      configure(sub);
    }
  };
  configure(program);
  return program;
}

/**
 * Runs the command line with `argv` (without the node and script names) and returns the exit code.
 * Errors print as `plumbline: CODE: message` on stderr, with a stack trace only under `--debug`.
 *
 * @example
 * ```ts
 * import { run } from '@plumbline/cli';
 * const code = await run(['manifest', 'config/']);
 * ```
 * @public
 */
export async function run(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  let exitCode: ExitCodeValue = ExitCode.Ok;
  const context: CommandContext = {
    io,
    exit(code) {
      // A failed check outranks success; an error outranks both; "unverified" outranks success only.
      const rank = (c: number): number =>
        c === ExitCode.Usage
          ? 3
          : c === ExitCode.CheckFailed
            ? 2
            : c === ExitCode.Unverified
              ? 1
              : 0;
      if (rank(code) > rank(exitCode)) exitCode = code;
    },
    printJson(value) {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    print(line) {
      io.stdout.write(`${line}\n`);
    },
    note(line) {
      io.stderr.write(`${line}\n`);
    },
  };
  const program = buildProgram(io, context);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return ExitCode.Ok;
      }
      return ExitCode.Usage;
    }
    const coded = toPlumblineError(error);
    io.stderr.write(`plumbline: ${coded.code}: ${coded.message}\n`);
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return ExitCode.Usage;
  }
}
