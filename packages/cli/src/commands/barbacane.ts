import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { headerToJson } from '@plumbline/core/header';
import { hashBarbacaneKey, loadBcaAsArtifact, sealBca } from '@plumbline/barbacane';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';
import { ExitCode } from '../exit-codes.js';

interface SealFlags {
  embed?: boolean;
  sidecar?: boolean;
  out?: string;
  commit?: string;
  source?: string;
  ref?: string;
  buildUrl?: string;
  builderId?: string;
  builderVersion?: string;
  json?: boolean;
}

async function readKey(context: CommandContext): Promise<string> {
  const stdin = context.io.stdin;
  if (stdin === undefined) throw new PlumblineError('PLB_USAGE', 'no standard input');
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.length > 4096) throw new PlumblineError('PLB_USAGE', 'the key is longer than 4 KiB');
  }
  const key = text.replace(/\r?\n$/, '');
  if (key.length === 0 || /[\r\n]/.test(key)) {
    throw new PlumblineError('PLB_USAGE', 'expected one API key on standard input');
  }
  return key;
}

/**
 * `plumbline verify` for a Barbacane `.bca`: its own checksums, Barbacane's `artifact_hash` and
 * its Plumbline header (sidecar or embedded); exit 0 verified, 1 mismatch, 3 unsealed.
 *
 * @internal
 */
export async function verifyBcaAction(
  context: CommandContext,
  artifact: string,
  opts: { json?: boolean; inputs?: string[] },
): Promise<void> {
  if (opts.inputs !== undefined) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--inputs is not supported for a .bca: its inputs are the archive members themselves',
    );
  }
  const result = await loadBcaAsArtifact(resolve(context.io.cwd, artifact));
  const problems = result.problems.map((message) => ({ code: 'PLB_BCA_SEAL_MISMATCH', message }));
  if (opts.json) {
    context.printJson({
      status: result.status,
      artifact,
      artifact_digest: result.bca.digest,
      format: 'barbacane',
      ...(result.header === null ? {} : { artifact_hash: result.header.artifact_hash }),
      header_source: result.headerSource,
      barbacane_artifact_hash: result.barbacaneHash,
      problems,
    });
  } else if (result.status === 'unverified' && result.header === null) {
    context.print(`unverified: ${artifact} is a Barbacane .bca without a Plumbline header`);
    context.print(`  sha256 ${result.bca.digest}`);
  } else {
    context.print(`${result.status}: ${artifact}`);
    if (result.header !== null) context.print(`  artifact_hash    ${result.header.artifact_hash}`);
    context.print(`  artifact_digest  ${result.bca.digest}`);
    for (const problem of problems) context.print(`  ${problem.code}: ${problem.message}`);
  }
  if (result.status === 'mismatch') context.exit(ExitCode.CheckFailed);
  else if (result.status === 'unverified') context.exit(ExitCode.Unverified);
}

/**
 * `plumbline barbacane`: Barbacane `.bca` artifacts (check, seal) and API key hashing for
 * `plumbline control-plane --protocol barbacane`.
 *
 * @internal
 */
export const barbacaneCommand: CommandModule = (program: Command, context: CommandContext) => {
  const command = program
    .command('barbacane')
    .description('Barbacane compatibility: check and seal .bca artifacts, hash API keys');

  command
    .command('check')
    .description(
      "check a .bca: its checksums, Barbacane's artifact_hash and its Plumbline header (exit 0 verified, 1 mismatch, 3 unsealed)",
    )
    .argument('<file>', 'the .bca artifact')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const result = await loadBcaAsArtifact(resolve(context.io.cwd, file));
      const { bca } = result;
      if (opts.json) {
        context.printJson({
          status: result.status,
          problems: result.problems,
          artifact_version: bca.version,
          digest: bca.digest,
          barbacane_artifact_hash: result.barbacaneHash,
          checksums: bca.checksums,
          inputs_root: result.inputs.root,
          header_source: result.headerSource,
          header: result.header === null ? null : JSON.parse(headerToJson(result.header)),
        });
      } else {
        context.print(
          `artifact version  ${bca.version} (compiler ${bca.manifest.compiler_version})`,
        );
        context.print(`file digest       ${bca.digest}`);
        const hash = result.barbacaneHash;
        context.print(
          `barbacane hash    ${hash.declared ?? '(none)'} ${
            hash.recomputable
              ? hash.matches
                ? 'recomputed: match'
                : 'recomputed: MISMATCH'
              : `not recomputed: ${hash.reason}`
          }`,
        );
        const bad = bca.checksums.filter((c) => c.status !== 'ok').length;
        context.print(`checksums         ${bca.checksums.length - bad}/${bca.checksums.length} ok`);
        context.print(`plumbline inputs  ${result.inputs.root}`);
        context.print(`plumbline header  ${result.headerSource ?? 'none'}`);
        for (const problem of result.problems) context.print(`problem: ${problem}`);
        context.print(`status            ${result.status}`);
      }
      if (result.status === 'mismatch') context.exit(ExitCode.CheckFailed);
      else if (result.status === 'unverified') context.exit(ExitCode.Unverified);
    });

  command
    .command('seal')
    .description(
      'write a Plumbline provenance header for a .bca, as a sidecar or embedded in a copy',
    )
    .argument('<file>', 'the .bca artifact')
    .option('--sidecar', 'write <file>.plumbline next to the artifact (default)')
    .option(
      '--embed',
      'write a copy of the archive with the header as the member plumbline/header.cbor',
    )
    .option('--out <path>', 'output path (sidecar file or sealed copy)')
    .option(
      '--commit <sha>',
      'git commit (default: the manifest provenance commit when it is a full id)',
    )
    .option('--source <repo>', 'source repository (owner/repo or URL)')
    .option('--ref <ref>', 'git ref')
    .option('--build-url <url>', 'CI run URL')
    .option('--builder-id <id>', 'builder id (default barbacane)')
    .option('--builder-version <version>', 'builder version (default: the compiler version)')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: SealFlags) => {
      if (flags.embed && flags.sidecar) {
        throw new PlumblineError('PLB_USAGE', 'use either --embed or --sidecar');
      }
      if ((flags.builderId === undefined) !== (flags.builderVersion === undefined)) {
        throw new PlumblineError('PLB_USAGE', '--builder-id and --builder-version go together');
      }
      const result = await sealBca(resolve(context.io.cwd, file), {
        mode: flags.embed ? 'embed' : 'sidecar',
        ...(flags.out === undefined
          ? {}
          : { output: await prepareOutputPath(context.io.cwd, flags.out) }),
        ...(flags.commit === undefined ? {} : { commit: flags.commit }),
        ...(flags.source === undefined ? {} : { source: flags.source }),
        ...(flags.ref === undefined ? {} : { ref: flags.ref }),
        ...(flags.buildUrl === undefined ? {} : { buildUrl: flags.buildUrl }),
        ...(flags.builderId === undefined || flags.builderVersion === undefined
          ? {}
          : { builder: { id: flags.builderId, version: flags.builderVersion } }),
        sourceDateEpoch: context.io.env['SOURCE_DATE_EPOCH'] ?? null,
      });
      if (flags.json) {
        context.printJson({
          output: result.output,
          mode: result.mode,
          artifact_hash: result.header.artifact_hash,
        });
      } else {
        context.print(`${result.output} (${result.mode}) ${result.header.artifact_hash}`);
      }
    });

  command
    .command('hash-key')
    .description(
      'read a Barbacane API key on standard input and print its SHA-256 for --barbacane-keys',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const hash = hashBarbacaneKey(await readKey(context));
      if (opts.json) context.printJson({ key_sha256: hash });
      else context.print(hash);
    });
};
