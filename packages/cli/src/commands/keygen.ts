import { chmod, open } from 'node:fs/promises';
import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { generateSigningKeyPair } from '@plumbline/core/signer';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';

interface KeygenOptions {
  out: string;
  algorithm: string;
  force?: boolean;
  json?: boolean;
}

async function writeKeyFile(
  path: string,
  text: string,
  mode: number,
  force: boolean,
): Promise<void> {
  let handle;
  try {
    handle = await open(path, force ? 'w' : 'wx', mode);
  } catch (cause) {
    if ((cause as { code?: string }).code === 'EEXIST') {
      throw new PlumblineError('PLB_IO', `${path} already exists (use --force to replace it)`, {
        cause,
        details: { path },
      });
    }
    throw cause;
  }
  try {
    // The mode given to open() applies only to new files; set it for replaced ones too.
    await chmod(path, mode);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * `plumbline keygen --out PREFIX`: writes a signing key pair, `PREFIX.key.pem` (mode 0600) and
 * `PREFIX.pub.pem` (mode 0644).
 *
 * @internal
 */
export const keygenCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('keygen')
    .description(
      'Generate a signing key pair: PREFIX.key.pem (private, mode 0600) and PREFIX.pub.pem',
    )
    .requiredOption('--out <prefix>', 'path prefix of the two key files')
    .option('--algorithm <name>', 'ecdsa-p256 (default) or ed25519', 'ecdsa-p256')
    .option('--force', 'replace existing key files')
    .option('--json', 'print the paths and key id as JSON')
    .addHelpText(
      'after',
      `
ECDSA P-256 is what every Sigstore client accepts; Ed25519 keys also sign and verify with Plumbline.

Example:
  plumbline keygen --out keys/release && plumbline sign dist/gateway.plb --key keys/release.key.pem`,
    )
    .action(async (opts: KeygenOptions) => {
      const algorithm =
        opts.algorithm === 'ecdsa-p256' || opts.algorithm === 'ecdsa-p256-sha256'
          ? 'ecdsa-p256-sha256'
          : opts.algorithm === 'ed25519'
            ? 'ed25519'
            : undefined;
      if (!algorithm) {
        throw new PlumblineError(
          'PLB_USAGE',
          `unknown --algorithm "${opts.algorithm}" (ecdsa-p256 or ed25519)`,
        );
      }
      const pair = await generateSigningKeyPair({ algorithm });
      const privatePath = await prepareOutputPath(context.io.cwd, `${opts.out}.key.pem`);
      const publicPath = await prepareOutputPath(context.io.cwd, `${opts.out}.pub.pem`);
      await writeKeyFile(privatePath, pair.privateKeyPem, 0o600, opts.force === true);
      await writeKeyFile(publicPath, pair.publicKeyPem, 0o644, opts.force === true);
      if (opts.json) {
        context.printJson({
          algorithm,
          key_id: pair.keyId,
          private_key: `${opts.out}.key.pem`,
          public_key: `${opts.out}.pub.pem`,
        });
      } else {
        context.print(`private key  ${opts.out}.key.pem  (mode 0600: keep it secret)`);
        context.print(`public key   ${opts.out}.pub.pem`);
        context.print(`key id       ${pair.keyId}`);
      }
    });
};
