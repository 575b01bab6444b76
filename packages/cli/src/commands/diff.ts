import type { Command } from 'commander';
import { diffManifests } from '@plumbline/core/manifest';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { loadManifestInput } from './diff-input.js';

interface DiffOptions {
  json?: boolean;
}

/**
 * `plumbline diff <a> <b>`: compares two manifests or sealed artifacts (or one of each) entry by
 * entry; exit 0 when equal, 1 when they differ.
 *
 * @internal
 */
export const diffCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('diff')
    .description(
      'Compare two manifests or sealed artifacts entry by entry; exit 0 when equal, 1 when they differ',
    )
    .argument('<a>', 'the first manifest (JSON) or sealed artifact')
    .argument('<b>', 'the second manifest (JSON) or sealed artifact')
    .option('--json', 'print { equal, a, b, added, removed, changed, unchanged } as JSON')
    .addHelpText(
      'after',
      `
Output lines: "+ path" added in <b>, "- path" removed from <a>, "~ path" changed (both digests shown).

A sealed artifact is recognized by its magic bytes; its header's inputs are compared.

Examples:
  plumbline diff built.manifest.json deployed.manifest.json
  plumbline diff release.plb /srv/gateway/current.plb`,
    )
    .action(async (a: string, b: string, opts: DiffOptions) => {
      const { io } = context;
      const left = await loadManifestInput(io.cwd, a);
      const right = await loadManifestInput(io.cwd, b);
      const diff = diffManifests(left, right);
      if (opts.json) {
        context.printJson({
          equal: diff.equal,
          a: { source: a, kind: left.kind, root: left.root },
          b: { source: b, kind: right.kind, root: right.root },
          added: diff.added,
          removed: diff.removed,
          changed: diff.changed,
          unchanged: diff.unchanged,
        });
      } else {
        context.print(`a: ${left.root}  ${a}`);
        context.print(`b: ${right.root}  ${b}`);
        for (const entry of diff.removed) context.print(`- ${entry.path}  ${entry.digest}`);
        for (const entry of diff.added) context.print(`+ ${entry.path}  ${entry.digest}`);
        for (const change of diff.changed) {
          context.print(`~ ${change.path}  ${change.before.digest} -> ${change.after.digest}`);
        }
        context.print(
          diff.equal
            ? `equal: ${diff.unchanged} entries`
            : `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged`,
        );
      }
      if (!diff.equal) context.exit(ExitCode.CheckFailed);
    });
};
