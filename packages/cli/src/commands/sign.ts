import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { DETACHED_BUNDLE_SUFFIX, SIGSTORE_BUNDLE_ATTACHMENT } from '@plumbline/core/signer';
import {
  DEFAULT_REKOR_URL,
  signArtifactFileWithSigstore,
  type SigstoreArtifactFileOptions,
} from '@plumbline/sigstore';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';
import { readInputFile } from '../read-input-file.js';
import { statementFlags, statementOptions, type StatementFlags } from './attestation-input.js';

interface SignOptions extends StatementFlags {
  key?: string;
  keyless?: boolean;
  identityTokenFile?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  tsaUrl?: string;
  rekorEntryType?: string;
  tlog?: boolean;
  attach?: boolean;
  out?: string;
  json?: boolean;
}

const MAX_KEY_BYTES = 64 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024;

async function action(context: CommandContext, artifact: string, opts: SignOptions): Promise<void> {
  const { io } = context;
  if (opts.keyless === (opts.key !== undefined)) {
    throw new PlumblineError('PLB_USAGE', 'give either --key KEY.pem or --keyless');
  }
  if (opts.keyless && opts.identityTokenFile === undefined) {
    throw new PlumblineError('PLB_USAGE', '--keyless needs --identity-token-file');
  }
  if (
    opts.rekorEntryType !== undefined &&
    opts.rekorEntryType !== 'dsse' &&
    opts.rekorEntryType !== 'intoto'
  ) {
    throw new PlumblineError('PLB_USAGE', '--rekor-entry-type is dsse or intoto');
  }
  const signal = io.shutdownSignal;
  const service = {
    ...(opts.tsaUrl === undefined ? {} : { tsaUrl: opts.tsaUrl }),
    ...(opts.rekorEntryType === undefined
      ? {}
      : { rekorEntryType: opts.rekorEntryType as 'dsse' | 'intoto' }),
  };
  let signing: Pick<SigstoreArtifactFileOptions, 'key' | 'keyless'>;
  if (opts.keyless) {
    const token = new TextDecoder()
      .decode(await readInputFile(io.cwd, opts.identityTokenFile!, MAX_TOKEN_BYTES))
      .trim();
    if (token.length === 0)
      throw new PlumblineError('PLB_USAGE', 'the identity token file is empty');
    signing = {
      keyless: {
        identityToken: token,
        ...(opts.fulcioUrl === undefined ? {} : { fulcioUrl: opts.fulcioUrl }),
        rekorUrl: opts.tlog === false ? false : (opts.rekorUrl ?? DEFAULT_REKOR_URL),
        ...service,
      },
    };
  } else {
    signing = {
      key: {
        privateKey: await readInputFile(io.cwd, opts.key!, MAX_KEY_BYTES),
        ...(opts.rekorUrl === undefined || opts.tlog === false ? {} : { rekorUrl: opts.rekorUrl }),
        ...service,
      },
    };
  }
  const detached = opts.out === undefined ? {} : { out: await prepareOutputPath(io.cwd, opts.out) };
  const signed = await signArtifactFileWithSigstore(resolve(io.cwd, artifact), {
    ...statementFlags(opts, artifact, signal),
    ...signing,
    attach: opts.attach === true,
    ...detached,
  });
  const bundle = signed.bundle;
  const written =
    signed.detachedPath === undefined ? [] : [opts.out ?? `${artifact}${DETACHED_BUNDLE_SUFFIX}`];
  const material = bundle.verificationMaterial;
  if (opts.json) {
    context.printJson({
      artifact,
      artifact_digest: signed.artifactDigest,
      artifact_hash: signed.artifactHash,
      mode: opts.keyless ? 'keyless' : 'key',
      attached: opts.attach === true,
      bundles: written,
      ...(material?.publicKey?.hint ? { key_id: material.publicKey.hint } : {}),
      tlog_entries: material?.tlogEntries?.length ?? 0,
      timestamps: material?.timestampVerificationData?.rfc3161Timestamps?.length ?? 0,
    });
  } else {
    context.print(`signed: ${artifact}`);
    context.print(`  artifact_digest  ${signed.artifactDigest}`);
    if (material?.publicKey?.hint) context.print(`  key id           ${material.publicKey.hint}`);
    if (opts.attach) context.print(`  bundle           attached (${SIGSTORE_BUNDLE_ATTACHMENT})`);
    for (const out of written) context.print(`  bundle           ${out}`);
    if (material?.tlogEntries?.length)
      context.print(`  rekor entries    ${material.tlogEntries.length}`);
  }
}

/**
 * `plumbline sign <artifact> (--key KEY.pem | --keyless --identity-token-file F)`: signs the
 * artifact's provenance statement into a Sigstore bundle, detached or attached.
 *
 * @internal
 */
export const signCommand: CommandModule = (program: Command, context: CommandContext) => {
  statementOptions(
    program
      .command('sign')
      .description(
        "Sign the artifact's SLSA provenance statement into a Sigstore bundle (DSSE), with a key or keylessly",
      )
      .argument('<artifact>', 'the artifact container')
      .option('--key <file>', 'ECDSA P-256 private key (PEM), as written by plumbline keygen')
      .option('--keyless', 'sign with a Fulcio certificate for an OIDC identity')
      .option('--identity-token-file <file>', 'file holding the OIDC identity token (keyless)')
      .option('--fulcio-url <url>', 'Fulcio URL (keyless; default https://fulcio.sigstore.dev)')
      .option(
        '--rekor-url <url>',
        'Rekor URL (keyless default https://rekor.sigstore.dev; with --key, records an entry)',
      )
      .option('--tsa-url <url>', 'RFC 3161 timestamp authority URL')
      .option(
        '--rekor-entry-type <kind>',
        'Rekor v1 entry kind: dsse (default) or intoto (older private instances)',
      )
      .option('--no-tlog', 'record no transparency-log entry')
      .option(
        '--attach',
        'store the bundle inside the container (the artifact digest does not change)',
      )
      .option(
        '--out <file>',
        'write the bundle to FILE (default <artifact>.sigstore.json unless --attach)',
      ),
  )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  plumbline sign dist/gateway.plb --key keys/release.key.pem
  plumbline sign dist/gateway.plb --key keys/release.key.pem --attach
  plumbline sign dist/gateway.plb --keyless --identity-token-file $RUNNER_TEMP/oidc-token \\
    --fulcio-url https://fulcio.internal.example --rekor-url https://rekor.internal.example`,
    )
    .action((artifact: string, opts: SignOptions) => action(context, artifact, opts));
};
