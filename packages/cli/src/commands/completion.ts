import { Argument, type Command } from 'commander';
import type { CommandContext, CommandModule } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/**
 * `plumbline completion bash|zsh|fish`: prints a shell completion script for every command,
 * subcommand and option.
 *
 * @internal
 */
export const completionCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(plumbline completion bash)        # in ~/.bashrc
  source <(plumbline completion zsh)         # in ~/.zshrc
  plumbline completion fish > ~/.config/fish/completions/plumbline.fish`,
    )
    .action(async (shell: string) => {
      // commandsFor() registers every command when `completion` runs, so `program` is the whole tree.
      const scripts = await import('../completion-scripts.js');
      const text =
        shell === 'bash'
          ? scripts.bashCompletion(program)
          : shell === 'zsh'
            ? scripts.zshCompletion(program)
            : scripts.fishCompletion(program);
      context.io.stdout.write(text);
    });
};
