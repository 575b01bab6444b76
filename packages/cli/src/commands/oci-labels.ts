import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { LABEL_FORMATS, ociLabels, renderLabels, type LabelFormat } from '@plumbline/oci';
import type { CommandContext, CommandModule } from '../context.js';
import { readHeaderOrUnverified } from './artifact-header.js';

interface OciLabelsOptions {
  format?: string;
  json?: boolean;
}

/**
 * `plumbline oci-labels <artifact> [--format args|dockerfile|json|env] [--json]`: prints the OCI
 * image labels for an artifact's provenance header.
 *
 * @internal
 */
export const ociLabelsCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('oci-labels')
    .description("Print the OCI image labels carrying an artifact's provenance")
    .argument('<artifact>', 'the sealed artifact (a container or a sealed Barbacane .bca)')
    .option('--format <format>', `output format: ${LABEL_FORMATS.join('|')}`, 'args')
    .option('--json', 'print the labels as a JSON object (same as --format json)')
    .addHelpText(
      'after',
      `
Formats: args (docker build / buildah --label arguments, shell-quoted), dockerfile (a LABEL
instruction), json, env (key=value lines for CI metadata actions).

Examples:
  eval "docker build $(plumbline oci-labels dist/gateway.plb) ."   # args are shell-quoted: eval them
  plumbline oci-labels dist/gateway.plb --format dockerfile >> Dockerfile
  plumbline oci-labels dist/gateway.plb --format env > labels.txt  # build-push-action "labels:"`,
    )
    .action(async (artifact: string, opts: OciLabelsOptions) => {
      const format = (opts.json ? 'json' : (opts.format ?? 'args')) as LabelFormat;
      if (!LABEL_FORMATS.includes(format)) {
        throw new PlumblineError(
          'PLB_USAGE',
          `--format must be one of ${LABEL_FORMATS.join(', ')} (got ${JSON.stringify(format)})`,
          { details: { format } },
        );
      }
      const info = await readHeaderOrUnverified(context, artifact);
      if (info === undefined) return;
      const labels = ociLabels(info.header, { headerDigest: info.headerDigest });
      context.io.stdout.write(renderLabels(labels, format));
    });
};
