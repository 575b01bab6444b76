import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { headerToJson } from '@plumbline/core/header';
import { isBcaFile, readArtifactHeader } from '@plumbline/barbacane';
import { resolve } from 'node:path';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';

interface InspectOptions {
  json?: boolean;
  entries?: boolean;
}

async function action(
  context: CommandContext,
  artifact: string,
  opts: InspectOptions,
): Promise<void> {
  const path = resolve(context.io.cwd, artifact);
  const bca = await isBcaFile(path);
  let info;
  try {
    info = await readArtifactHeader(path);
  } catch (error) {
    if (!PlumblineError.is(error, 'PLB_LEGACY_ARTIFACT')) throw error;
    if (opts.json)
      context.printJson({ legacy: true, artifact, ...(bca ? { format: 'barbacane' } : {}) });
    else if (bca)
      context.print(`${artifact}: Barbacane .bca without a Plumbline header: unverified`);
    else context.print(`${artifact}: legacy artifact (no Plumbline header): unverified`);
    context.exit(ExitCode.Unverified);
    return;
  }
  const { header } = info;
  if (opts.json) {
    context.io.stdout.write(`${headerToJson(header)}\n`);
    return;
  }
  const p = header.provenance;
  const roles = new Map<string, number>();
  for (const entry of header.inputs)
    roles.set(entry.role ?? 'unset', (roles.get(entry.role ?? 'unset') ?? 0) + 1);
  const byRole = [...roles].map(([role, n]) => `${role} ${n}`).join(', ');
  const attachments = Object.entries(info.attachments);
  const rows: [string, string][] = [
    [
      'artifact',
      `${artifact} (${bca ? 'Barbacane .bca' : `container v${info.containerVersion}`}, ${header.format})`,
    ],
    ['artifact_hash', header.artifact_hash],
    ['commit', p.commit ?? '(none)'],
    ['source', p.source ?? '(none)'],
    ['ref', p.ref ?? '(none)'],
    ['build time', header.build_timestamp],
    ['builder', `${p.builder.id} ${p.builder.version}`],
    ...(p.build_url === undefined ? [] : ([['build url', p.build_url]] as [string, string][])),
    [
      'payload',
      `${header.payload.size} bytes, ${header.payload.media_type}, ${header.payload.digest}`,
    ],
    ['inputs', `${header.inputs.length}${byRole ? ` (${byRole})` : ''}`],
    ['extensions', Object.keys(header.extensions).join(', ') || '(none)'],
    [
      'attachments',
      attachments.map(([key, value]) => `${key} (${value.length} bytes)`).join(', ') || '(none)',
    ],
    ['header digest', info.headerDigest],
  ];
  for (const [name, value] of rows) context.print(`${name.padEnd(14)} ${value}`);
  if (opts.entries) {
    context.print('');
    for (const entry of header.inputs) {
      context.print(
        `${entry.digest}  ${String(entry.size).padStart(10)}  ${(entry.role ?? '-').padEnd(6)}  ${entry.path}`,
      );
    }
  }
}

/**
 * `plumbline inspect <artifact>`: prints what an artifact's provenance header says.
 *
 * @internal
 */
export const inspectCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('inspect')
    .description(
      "Show an artifact's provenance header (reads only the prefix; a Barbacane .bca is read and checked whole); exit 3 for a legacy or unsealed artifact",
    )
    .argument('<artifact>', 'the artifact container, or a sealed Barbacane .bca')
    .option('--json', 'print the header as JSON')
    .option('--entries', 'also list every input (digest, size, role, path)')
    .addHelpText(
      'after',
      `
Example:
  plumbline inspect dist/gateway.plb --entries
  plumbline inspect dist/gateway.bca   # header embedded or in dist/gateway.bca.plumbline`,
    )
    .action((artifact: string, opts: InspectOptions) => action(context, artifact, opts));
};
