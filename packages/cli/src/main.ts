import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { commandsFor, type LazyCommand } from './commands/index.js';
import type { CommandContext } from './context.js';
import { escapeControl } from './escape.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { processIO, type CliIO } from './io.js';
import {
  commandPath,
  printError,
  subcommandNames,
  usageMessage,
  wantsJson,
} from './error-output.js';

/**
 * The CLI's version (all `@plumbline/*` packages release together under one version), read from
 * the package's own `package.json` — one level up from `src/` and from `dist/` — so printing it
 * loads nothing else.
 */
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/**
 * Builds the `plumbline` program (commander) bound to the given IO, with the given commands
 * registered (their modules load here, and only theirs).
 *
 * @internal
 */
export async function buildProgram(
  io: CliIO,
  context: CommandContext,
  commands: readonly LazyCommand[],
): Promise<Command> {
  const program = new Command('plumbline')
    .description('Configuration provenance and drift detection for API gateway fleets')
    .version(VERSION, '-V, --version')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Usage errors are printed by run() (one line, or JSON with --json).
      outputError: () => undefined,
    });
  const modules = await Promise.all(commands.map((command) => command.load()));
  for (const register of modules) register(program, context);
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
      io.stdout.write(`${escapeControl(line)}\n`);
    },
    note(line) {
      io.stderr.write(`${escapeControl(line)}\n`);
    },
  };
  const debug = argv.includes('--debug');
  const json = wantsJson(argv);
  let program: Command | undefined;
  try {
    program = await buildProgram(io, context, commandsFor(argv));
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
      const path = program === undefined ? 'plumbline' : commandPath(program, argv);
      const subcommands = program === undefined ? [] : subcommandNames(program, path);
      const message = usageMessage(error.message, path, subcommands, argv);
      printError(io, { code: 'PLB_USAGE', message }, { json, exitCode: ExitCode.Usage });
      return ExitCode.Usage;
    }
    const { debugStack, toPlumblineError } = await import('./errors.js');
    const coded = toPlumblineError(error);
    printError(io, coded, { json, exitCode: ExitCode.Usage });
    const stack = debug ? debugStack(error) : undefined;
    if (stack !== undefined)
      io.stderr.write(`${escapeControl(stack)}
`);
    return ExitCode.Usage;
  }
}
