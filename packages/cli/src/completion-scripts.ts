import type { Command } from 'commander';

/** One command of the tree a completion script knows: its words, subcommands and options. */
interface Node {
  /** Words after `plumbline` (`['fleet', 'node']`); empty for the program. */
  readonly path: readonly string[];
  readonly description: string;
  readonly subcommands: readonly string[];
  readonly options: readonly { readonly long: string; readonly description: string }[];
}

type Option = { readonly long: string; readonly description: string };

function walk(
  command: Command,
  path: readonly string[],
  out: Node[],
  inherited: readonly Option[] = [],
): Node[] {
  const own = command.options.flatMap((o) =>
    o.long === undefined || o.long === '--version'
      ? []
      : [{ long: o.long, description: o.description }],
  );
  // Options of a parent command are accepted after its subcommands too (`fleet node --json`).
  const options = [...own, ...inherited.filter((o) => !own.some((x) => x.long === o.long))];
  out.push({
    path,
    description: command.description(),
    // A command without subcommands whose first argument has fixed choices completes those.
    subcommands:
      command.commands.length > 0
        ? command.commands.map((c) => c.name())
        : [...(command.registeredArguments[0]?.argChoices ?? [])],
    options: [
      ...(path.length === 0 ? [{ long: '--version', description: 'print the version' }] : []),
      ...options,
      { long: '--help', description: 'display help' },
    ],
  });
  for (const sub of command.commands) walk(sub, [...path, sub.name()], out, options);
  return out;
}

/** Single-quotes a word for POSIX shells and fish. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A bash completion script for the program's command tree: subcommands, then options; file names
 * where a command takes paths (`complete -o default`).
 *
 * @internal
 */
export function bashCompletion(program: Command): string {
  const nodes = walk(program, [], []);
  const known = nodes
    .filter((n) => n.path.length > 0)
    .map((n) => quote(` ${n.path.join(' ')}`))
    .join('|');
  const cases = nodes
    .map(
      (n) =>
        `    ${quote(n.path.length === 0 ? '' : ` ${n.path.join(' ')}`)}) subs=${quote(n.subcommands.join(' '))}; opts=${quote(n.options.map((o) => o.long).join(' '))} ;;`,
    )
    .join('\n');
  return `# bash completion for plumbline: source <(plumbline completion bash)
_plumbline() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i subs="" opts=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    case "$path $w" in
      ${known}) path="$path $w" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=()
  fi
}
complete -o default -F _plumbline plumbline
`;
}

/**
 * A zsh completion script: the bash one through zsh's `bashcompinit`.
 *
 * @internal
 */
export function zshCompletion(program: Command): string {
  return `# zsh completion for plumbline: source <(plumbline completion zsh)
autoload -U +X compinit && compinit -u
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split('\n').slice(1).join('\n')}`;
}

/**
 * A fish completion script: each subcommand with its description, each command's options.
 *
 * @internal
 */
export function fishCompletion(program: Command): string {
  const nodes = walk(program, [], []);
  const lines = [
    '# fish completion for plumbline: plumbline completion fish | source',
    'complete -c plumbline -f',
  ];
  // `__fish_seen_subcommand_from` matches any word, so a path is judged by all its words.
  const condition = (path: readonly string[], subs: readonly string[]): string => {
    const parts = path.map((word) => `__fish_seen_subcommand_from ${word}`);
    if (path.length === 0) parts.push('__fish_use_subcommand');
    else if (subs.length > 0) parts.push(`not __fish_seen_subcommand_from ${subs.join(' ')}`);
    return parts.join('; and ');
  };
  for (const n of nodes) {
    for (const sub of n.subcommands) {
      const child = nodes.find((c) => c.path.join(' ') === [...n.path, sub].join(' '));
      lines.push(
        `complete -c plumbline -n ${quote(condition(n.path, n.subcommands))} -a ${quote(sub)} -d ${quote(child?.description ?? '')}`,
      );
    }
    for (const option of n.options) {
      lines.push(
        `complete -c plumbline -n ${quote(condition(n.path, n.subcommands))} -l ${quote(option.long.slice(2))} -d ${quote(option.description)}`,
      );
    }
    if (n.subcommands.length === 0 && n.path.length > 0) {
      lines.push(`complete -c plumbline -n ${quote(condition(n.path, []))} -F`);
    }
  }
  return `${lines.join('\n')}\n`;
}
