import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { isDigestString } from '@plumbline/core/hash';
import { parseEntryProof, verifyEntryProof } from '@plumbline/core/manifest';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { readJsonFile } from '../read-input-file.js';

/** A proof document is small: 64 hashes at most. */
const MAX_PROOF_BYTES = 64 * 1024;

interface VerifyProofOptions {
  root?: string;
  json?: boolean;
}

/**
 * `plumbline verify-proof <proof.json>`: checks an inclusion proof; exit 0 when it verifies, 1 when not.
 *
 * @internal
 */
export const verifyProofCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('verify-proof')
    .description('Check an inclusion proof; exit 0 when it verifies, 1 when it does not')
    .argument('<proof.json>', 'a proof from `plumbline prove --json`')
    .option('--root <digest>', 'the root you trust (sha256:…); default: the root the proof names')
    .option('--json', 'print { verified, path, digest, root } as JSON')
    .addHelpText(
      'after',
      `
Without --root the check shows only that the proof is consistent with the root it names; pass the
root you trust (from your build, an SBOM or a signed attestation) to prove membership.

Example:
  plumbline verify-proof proof.json --root sha256:0ce4a5fd…`,
    )
    .action(async (proofFile: string, opts: VerifyProofOptions) => {
      if (opts.root !== undefined && !isDigestString(opts.root)) {
        throw new PlumblineError(
          'PLB_USAGE',
          '--root takes sha256: followed by 64 lowercase hex characters',
        );
      }
      const proof = parseEntryProof(await readJsonFile(context.io.cwd, proofFile, MAX_PROOF_BYTES));
      const root = opts.root ?? proof.root;
      const verified = verifyEntryProof(proof, opts.root === undefined ? {} : { root: opts.root });
      if (opts.json) {
        context.printJson({ verified, path: proof.path, digest: proof.digest, root });
      } else if (verified) {
        context.print(
          `verified: ${proof.path} (${proof.digest}) is entry ${proof.leaf_index} of ${proof.tree_size} under ${root}`,
        );
      } else {
        context.print(`NOT verified: ${proof.path} is not proven to be under ${root}`);
      }
      if (!verified) context.exit(ExitCode.CheckFailed);
    });
};
