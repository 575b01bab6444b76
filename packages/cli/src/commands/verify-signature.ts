import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { readHeader } from '@plumbline/core/node';
import { DETACHED_BUNDLE_SUFFIX, type SignatureVerdict } from '@plumbline/core/signer';
import { createSigstoreVerifier, type IdentityPolicy } from '@plumbline/sigstore';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { readInputFile } from '../read-input-file.js';

interface VerifySignatureOptions {
  bundle?: string;
  key?: string[];
  trustedRoot?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  json?: boolean;
}

const MAX_KEY_BYTES = 64 * 1024;
const MAX_ROOT_BYTES = 4 * 1024 * 1024;
const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

function pattern(
  exact: string | undefined,
  regexp: string | undefined,
  what: string,
): string | RegExp | undefined {
  if (exact !== undefined && regexp !== undefined) {
    throw new PlumblineError('PLB_USAGE', `give --${what} or --${what}-regexp, not both`);
  }
  if (regexp === undefined) return exact;
  try {
    return new RegExp(regexp);
  } catch (cause) {
    throw new PlumblineError('PLB_USAGE', `--${what}-regexp is not a valid regular expression`, {
      cause,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function action(
  context: CommandContext,
  artifact: string,
  opts: VerifySignatureOptions,
): Promise<void> {
  const { io } = context;
  const keys = opts.key ?? [];
  const identity = pattern(
    opts.certificateIdentity,
    opts.certificateIdentityRegexp,
    'certificate-identity',
  );
  const issuer = pattern(
    opts.certificateOidcIssuer,
    opts.certificateOidcIssuerRegexp,
    'certificate-oidc-issuer',
  );
  if (keys.length === 0 && opts.trustedRoot === undefined) {
    throw new PlumblineError(
      'PLB_USAGE',
      'give --key PUB.pem, or --trusted-root with --certificate-identity and --certificate-oidc-issuer',
    );
  }
  if (opts.trustedRoot !== undefined && (identity === undefined || issuer === undefined)) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--trusted-root needs --certificate-identity and --certificate-oidc-issuer',
    );
  }
  const publicKeys = [];
  for (const key of keys) publicKeys.push(await readInputFile(io.cwd, key, MAX_KEY_BYTES));
  const identities: IdentityPolicy[] =
    identity !== undefined && issuer !== undefined
      ? [{ subjectAlternativeName: identity, issuer }]
      : [];
  const verifier = await createSigstoreVerifier({
    publicKeys,
    ...(opts.trustedRoot === undefined
      ? {}
      : { trustedRoot: await readInputFile(io.cwd, opts.trustedRoot, MAX_ROOT_BYTES), identities }),
  });

  const path = resolve(io.cwd, artifact);
  const signal = io.shutdownSignal;
  let verdict: SignatureVerdict;
  let artifactDigest: string | undefined;
  try {
    const info = await readHeader(path, { artifactDigest: true, ...(signal ? { signal } : {}) });
    artifactDigest = info.artifactDigest;
    const bundlePath = opts.bundle ?? `${artifact}${DETACHED_BUNDLE_SUFFIX}`;
    const detached =
      opts.bundle !== undefined || (await exists(resolve(io.cwd, bundlePath)))
        ? await readInputFile(io.cwd, bundlePath, MAX_BUNDLE_BYTES)
        : undefined;
    verdict = await verifier.verify(
      {
        artifactDigest: info.artifactDigest!,
        artifactHash: info.header.artifact_hash,
        headerDigest: info.headerDigest,
        attachments: info.attachments,
        ...(detached === undefined ? {} : { detached }),
      },
      signal ? { signal } : {},
    );
  } catch (error) {
    if (!PlumblineError.is(error, 'PLB_LEGACY_ARTIFACT')) throw error;
    verdict = {
      present: false,
      valid: false,
      code: 'PLB_LEGACY_ARTIFACT',
      reason: 'a legacy artifact (no Plumbline header) cannot carry a signed statement',
    };
  }
  const status = verdict.valid ? 'valid' : verdict.present ? 'invalid' : 'unsigned';
  if (opts.json) {
    context.printJson({
      status,
      artifact,
      ...(artifactDigest === undefined ? {} : { artifact_digest: artifactDigest }),
      verifier: verifier.name,
      ...(verdict.code === undefined ? {} : { code: verdict.code }),
      ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
      ...(verdict.source === undefined ? {} : { source: verdict.source }),
      ...(verdict.signer === undefined ? {} : { signer: verdict.signer }),
      ...(verdict.predicateType === undefined ? {} : { predicate_type: verdict.predicateType }),
    });
  } else {
    context.print(`${status}: ${artifact}`);
    if (verdict.code) context.print(`  ${verdict.code}: ${verdict.reason ?? ''}`);
    if (verdict.source) {
      context.print(
        `  bundle           ${verdict.source.kind === 'attachment' ? `attached (${verdict.source.key})` : 'detached'}`,
      );
    }
    if (verdict.signer?.keyId) context.print(`  key id           ${verdict.signer.keyId}`);
    if (verdict.signer?.identity) context.print(`  identity         ${verdict.signer.identity}`);
    if (verdict.signer?.issuer) context.print(`  issuer           ${verdict.signer.issuer}`);
  }
  if (status === 'invalid') context.exit(ExitCode.CheckFailed);
  else if (status === 'unsigned') context.exit(ExitCode.Unverified);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `plumbline verify-signature <artifact>`: checks an artifact's Sigstore bundle offline. Exit 0
 * valid, 1 invalid, 3 unsigned, 2 usage or input error.
 *
 * @internal
 */
export const verifySignatureCommand: CommandModule = (
  program: Command,
  context: CommandContext,
) => {
  program
    .command('verify-signature')
    .description(
      "Verify an artifact's signature offline; exit 0 valid, 1 invalid, 3 unsigned, 2 error",
    )
    .argument('<artifact>', 'the artifact container')
    .option('--bundle <file>', 'the bundle (default: attached, or <artifact>.sigstore.json)')
    .option('--key <file>', 'trusted public key (PEM); repeat for several', collect)
    .option('--trusted-root <file>', 'Sigstore trusted_root.json (keyless bundles)')
    .option('--certificate-identity <identity>', 'expected certificate identity (exact)')
    .option(
      '--certificate-identity-regexp <re>',
      'expected certificate identity (whole-value regular expression)',
    )
    .option('--certificate-oidc-issuer <url>', 'expected OIDC issuer (exact)')
    .option(
      '--certificate-oidc-issuer-regexp <re>',
      'expected OIDC issuer (whole-value regular expression)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  plumbline verify-signature dist/gateway.plb --key keys/release.pub.pem
  plumbline verify-signature dist/gateway.plb --trusted-root trusted_root.json \\
    --certificate-identity https://github.com/acme/gw/.github/workflows/build.yml@refs/heads/main \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com`,
    )
    .action((artifact: string, opts: VerifySignatureOptions) => action(context, artifact, opts));
};
