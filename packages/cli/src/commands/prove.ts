import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseManifest, proveEntry } from '@plumbline/core/manifest';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';
import { readInputFile } from '../read-input-file.js';

const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

interface ProveOptions {
  json?: boolean;
  out?: string;
}

/**
 * `plumbline prove <manifest.json> <entry-path>`: prints the inclusion proof of one entry.
 *
 * @internal
 */
export const proveCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('prove')
    .description('Print the inclusion proof that <entry-path> belongs to the manifest root')
    .argument('<manifest.json>', 'a manifest document (from `plumbline manifest --out`)')
    .argument('<entry-path>', 'the path of the entry, as in the manifest')
    .option('--out <file>', 'also write the proof (JSON) to <file>')
    .option(
      '--json',
      'print the proof as JSON: { path, digest, leaf_index, tree_size, audit_path, root }',
    )
    .addHelpText(
      'after',
      `
Example:
  plumbline prove manifest.json plugins/rate-limit.wasm --json > proof.json
  plumbline verify-proof proof.json --root sha256:…`,
    )
    .action(async (manifestFile: string, entryPath: string, opts: ProveOptions) => {
      const { io } = context;
      const manifest = parseManifest(await readInputFile(io.cwd, manifestFile, MAX_MANIFEST_BYTES));
      const proof = proveEntry(manifest, entryPath);
      const json = `${JSON.stringify(proof, null, 2)}\n`;
      if (opts.out !== undefined) await writeFile(await prepareOutputPath(io.cwd, opts.out), json);
      if (opts.json) {
        io.stdout.write(json);
        return;
      }
      context.print(`path:       ${proof.path}`);
      context.print(`digest:     ${proof.digest}`);
      context.print(`leaf index: ${proof.leaf_index} of ${proof.tree_size}`);
      context.print(`root:       ${proof.root}`);
      context.print(
        `audit path: ${proof.audit_path.length === 0 ? '(none: the only entry)' : ''}`.trimEnd(),
      );
      for (const hash of proof.audit_path) context.print(`  ${hash}`);
    });
};
