import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { escapeControl } from './escape.js';

/**
 * Whether the command line asks for JSON output (`--json` before any `--`): errors then go to
 * stderr as one JSON document instead of the `plumbline: CODE: message` line.
 *
 * @internal
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Prints an error on stderr: `plumbline: CODE: message`, or with `--json`
 * `{"error":{"code","message","exit_code","details"?}}` on one line. The message and details of a
 * `PlumblineError` never carry secrets, so both are printed as they are. Takes the error's fields
 * (not the class), so printing a usage error loads nothing from core.
 *
 * @internal
 */
export function printError(
  io: CliIO,
  error: { readonly code: string; readonly message: string; readonly details?: unknown },
  options: { readonly json: boolean; readonly exitCode: number },
): void {
  if (!options.json) {
    io.stderr.write(`plumbline: ${error.code}: ${escapeControl(error.message)}\n`);
    return;
  }
  const details = error.details;
  const empty =
    details === undefined ||
    details === null ||
    (typeof details === 'object' && Object.keys(details).length === 0);
  const body = {
    code: error.code,
    message: error.message,
    exit_code: options.exitCode,
    ...(empty ? {} : { details }),
  };
  io.stderr.write(`${JSON.stringify({ error: body })}\n`);
}

/**
 * The command a command line names (`plumbline fleet node` for `fleet node gw-1 --json`): the
 * deepest subcommand reached by its leading words, for the "see … --help" hint.
 *
 * @internal
 */
export function commandPath(program: Command, argv: readonly string[]): string {
  const names = ['plumbline'];
  let command = program;
  for (const word of argv) {
    if (word.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    names.push(sub.name());
    command = sub;
  }
  return names.join(' ');
}

/**
 * Rewrites commander's usage error (`error: unknown command 'sael'\n(Did you mean seal?)`) as one
 * line that says what to do: `unknown command 'sael' (did you mean seal?); see \`plumbline --help\``.
 *
 * @internal
 */
export function usageMessage(
  commanderMessage: string,
  command: string,
  subcommands: readonly string[] = [],
  argv: readonly string[] = [],
): string {
  let text = commanderMessage
    .replace(/^error: /, '')
    .replace(/\s*\n\s*\(Did you mean (.+)\)\s*$/, ' (did you mean $1)')
    .replace(/\s+/g, ' ')
    .replace(/\.$/, '')
    .trim();
  // `fleet nod`: commander sees an extra argument; the user meant a subcommand.
  if (/^too many arguments/.test(text) && subcommands.length > 0) {
    const words = command.split(' ').slice(1);
    const word = argv.filter((a) => !a.startsWith('-'))[words.length];
    if (word !== undefined) {
      const near = closest(word, subcommands);
      text =
        `unknown command '${words.join(' ')} ${word}'` +
        (near === undefined ? '' : ` (did you mean ${near}?)`);
    }
  }
  return `${text}; see \`${command} --help\``;
}

/** The candidate within edit distance 2 (or a prefix match) closest to `word`, if any. @internal */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = name.startsWith(word) && word.length >= 2 ? 1 : editDistance(word, name);
    if (distance <= 2 && (best === undefined || distance < best.distance))
      best = { name, distance };
  }
  return best?.name;
}

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The names of the subcommands of the command `path` names. @internal */
export function subcommandNames(program: Command, path: string): string[] {
  let command: Command | undefined = program;
  for (const name of path.split(' ').slice(1))
    command = command?.commands.find((c) => c.name() === name);
  return command?.commands.map((c) => c.name()) ?? [];
}
