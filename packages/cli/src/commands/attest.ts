import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';
import { attestArtifact, statementOptions, type StatementFlags } from './attestation-input.js';

interface AttestOptions extends StatementFlags {
  out?: string;
}

/**
 * `plumbline attest <artifact> [--out FILE]`: prints the unsigned in-toto statement (SLSA
 * Provenance v1) about an artifact.
 *
 * @internal
 */
export const attestCommand: CommandModule = (program: Command, context: CommandContext) => {
  statementOptions(
    program
      .command('attest')
      .description('Print the unsigned in-toto statement (SLSA Provenance v1) about an artifact')
      .argument('<artifact>', 'the artifact container')
      .option('--out <file>', 'write the statement to FILE instead of stdout'),
  )
    .option('--json', 'print JSON (the statement is JSON either way)')
    .addHelpText(
      'after',
      `
The subject is the artifact digest (sha256 of the container with empty attachments) with the
configuration's artifact_hash under "plumbline-merkle-sha256"; see docs/attestations.md.

Example:
  plumbline attest dist/gateway.plb --out dist/gateway.intoto.json`,
    )
    .action(async (artifact: string, opts: AttestOptions) => {
      const { statement } = await attestArtifact(
        context.io.cwd,
        artifact,
        opts,
        context.io.shutdownSignal,
      );
      const text = `${JSON.stringify(statement, null, 2)}\n`;
      if (opts.out === undefined) {
        context.io.stdout.write(text);
      } else {
        await writeFile(await prepareOutputPath(context.io.cwd, opts.out), text);
        context.note(`wrote ${opts.out}`);
      }
    });
};
