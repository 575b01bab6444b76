import type { Command } from 'commander';
import { verifyArtifact } from '@plumbline/core/node';
import { isBcaFile } from '@plumbline/barbacane';
import { resolve } from 'node:path';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { ProgressBar } from '../progress-bar.js';
import { verifyBcaAction } from './barbacane.js';

interface VerifyOptions {
  inputs?: string[];
  base?: string;
  json?: boolean;
}

async function action(
  context: CommandContext,
  artifact: string,
  opts: VerifyOptions,
): Promise<void> {
  const { io } = context;
  if (await isBcaFile(resolve(io.cwd, artifact))) {
    await verifyBcaAction(context, artifact, opts);
    return;
  }
  const progress = new ProgressBar(io.stderr);
  progress.phase(`verifying ${artifact}`);
  const result = await verifyArtifact(resolve(io.cwd, artifact), {
    ...(opts.inputs === undefined ? {} : { inputs: opts.inputs }),
    manifestOptions: { cwd: io.cwd, ...(opts.base === undefined ? {} : { base: opts.base }) },
    ...(io.shutdownSignal ? { signal: io.shutdownSignal } : {}),
  }).finally(() => progress.done());
  const d = result.differences;
  if (opts.json) {
    context.printJson({
      status: result.status,
      artifact,
      artifact_digest: result.artifactDigest,
      ...(result.header === undefined
        ? {}
        : { artifact_hash: result.header.artifact_hash, header_digest: result.headerDigest }),
      ...(result.payload === undefined ? {} : { payload: result.payload }),
      problems: result.problems,
      ...(d === undefined
        ? {}
        : { added: d.added, removed: d.removed, changed: d.changed, unchanged: d.unchanged }),
    });
  } else if (result.status === 'legacy') {
    context.print(`unverified: ${artifact} is a legacy artifact (no Plumbline header)`);
    context.print(`  sha256 ${result.artifactDigest}`);
  } else {
    context.print(`${result.status}: ${artifact}`);
    context.print(`  artifact_hash    ${result.header!.artifact_hash}`);
    context.print(`  artifact_digest  ${result.artifactDigest}`);
    if (opts.inputs !== undefined)
      context.print(`  inputs           ${d?.equal ? 'match' : 'differ'}`);
    for (const problem of result.problems) context.print(`  ${problem.code}: ${problem.message}`);
    if (d !== undefined) {
      for (const entry of d.removed) context.print(`  - ${entry.path}  ${entry.digest}`);
      for (const entry of d.added) context.print(`  + ${entry.path}  ${entry.digest}`);
      for (const c of d.changed)
        context.print(`  ~ ${c.path}  ${c.before.digest} -> ${c.after.digest}`);
    }
  }
  if (result.status === 'legacy') context.exit(ExitCode.Unverified);
  else if (result.status === 'mismatch') context.exit(ExitCode.CheckFailed);
}

/**
 * `plumbline verify <artifact>`: checks an artifact's payload and header, and its inputs.
 *
 * @internal
 */
export const verifyCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('verify')
    .description(
      'Verify an artifact: payload digest and size, header consistency, and with --inputs the input files; exit 0 verified, 1 mismatch, 3 legacy/unverified, 2 error',
    )
    .argument('<artifact>', 'the artifact container, or a Barbacane .bca (sealed or not)')
    .option(
      '--inputs <path...>',
      'recompute the manifest from these files and list the differences',
    )
    .option('--base <dir>', 'directory input paths are relative to (as given to seal)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Output lines for differing inputs: "+ path" added, "- path" removed, "~ path" changed.
A Barbacane .bca is checked against its own checksums, Barbacane's artifact_hash and its
Plumbline header (embedded member or <file>.plumbline sidecar); --inputs does not apply to it.

Example:
  plumbline verify dist/gateway.plb --inputs config/`,
    )
    .action((artifact: string, opts: VerifyOptions) => action(context, artifact, opts));
};
