import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { isDigestString } from '@plumbline/core/hash';
import { parseEntryProof, verifyEntryProof } from '@plumbline/core/manifest';
import { inclusionTreeSizes } from '@plumbline/core/merkle';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { readJsonFile } from '../read-input-file.js';

/** A proof document is small: 64 hashes at most. */
const MAX_PROOF_BYTES = 64 * 1024;

interface VerifyProofOptions {
  root?: string;
  treeSize?: string;
  json?: boolean;
}

function parseSize(text: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(text)) {
    throw new PlumblineError('PLB_USAGE', '--tree-size takes a positive integer');
  }
  return Number(text);
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
    .option(
      '--tree-size <n>',
      'the entry count you trust (binds the size; an inclusion proof alone does not)',
    )
    .option(
      '--json',
      'print { verified, path, digest, root, leaf_index, tree_size, tree_size_range } as JSON',
    )
    .addHelpText(
      'after',
      `
Without --root the check shows only that the proof is consistent with the root it names; pass the
root you trust (from your build, an SBOM or a signed attestation) to prove membership. An inclusion
proof fixes the entry's index but not the tree's size (several sizes fit one audit path): the range
of sizes it fits is printed, unless --tree-size gives the size you trust.

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
      const trustedSize = opts.treeSize === undefined ? undefined : parseSize(opts.treeSize);
      const proof = parseEntryProof(await readJsonFile(context.io.cwd, proofFile, MAX_PROOF_BYTES));
      const root = opts.root ?? proof.root;
      const verified = verifyEntryProof(proof, {
        ...(opts.root === undefined ? {} : { root: opts.root }),
        ...(trustedSize === undefined ? {} : { treeSize: trustedSize }),
      });
      const range = verified
        ? inclusionTreeSizes(
            proof.leaf_index,
            trustedSize ?? proof.tree_size,
            proof.audit_path.length,
          )
        : undefined;
      // Only a size from a trusted source, or a proof that fits one size alone, is proven.
      const size =
        trustedSize ?? (range !== undefined && range.min === range.max ? range.min : null);
      if (opts.json) {
        context.printJson({
          verified,
          path: proof.path,
          digest: proof.digest,
          root,
          leaf_index: proof.leaf_index,
          tree_size: verified ? size : null,
          tree_size_range: range === undefined ? null : [range.min, range.max],
        });
      } else if (verified) {
        const of =
          size !== null
            ? `of ${size}`
            : `of a tree of ${range!.min} to ${range!.max} entries (the proof does not fix which; pass --tree-size)`;
        context.print(
          `verified: ${proof.path} (${proof.digest}) is entry ${proof.leaf_index} ${of} under ${root}`,
        );
      } else {
        context.print(`NOT verified: ${proof.path} is not proven to be under ${root}`);
      }
      if (!verified) context.exit(ExitCode.CheckFailed);
    });
};
