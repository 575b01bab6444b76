import { PlumblineError } from '../errors.js';
import { encodeStatement } from '../attest/statement.js';
import { DSSE_ENVELOPE_ATTACHMENT } from '../signer/attachments.js';
import { encodeDsseEnvelope, signDsseEnvelope, type DsseEnvelope } from '../signer/dsse.js';
import { createKeySigner } from '../signer/key-signer.js';
import type { KeyInput } from '../signer/keys.js';
import type { Signer } from '../signer/types.js';
import {
  attestArtifactFile,
  type ArtifactStatementOptions,
  type AttestedArtifactFile,
} from './attest-artifact-file.js';
import { updateAttachmentsFile } from './attachments-file.js';

/**
 * Options of {@link signArtifactFile}: a local key or your own {@link Signer}, and the statement
 * options.
 *
 * @public
 */
export type SignArtifactFileOptions = ArtifactStatementOptions & {
  /** A local Ed25519/P-256 private key (PEM, DER PKCS #8, JWK, KeyObject, CryptoKey). Give this or `signer`. */
  readonly privateKey?: KeyInput;
  /** Passphrase of an encrypted PEM private key. */
  readonly passphrase?: string;
  /** A signer you supply (a KMS, an HSM). Give this or `privateKey`. */
  readonly signer?: Signer;
  /**
   * Store the envelope in the container under `dev.plumbline.dsse.envelope` (default `true`).
   * The artifact digest does not change. With `false` the file is left untouched.
   */
  readonly attach?: boolean;
};

/**
 * A signed artifact file: its three digests and statement, and the DSSE envelope.
 *
 * @public
 */
export interface SignedArtifactFile extends AttestedArtifactFile {
  /** The DSSE envelope over the statement. */
  readonly envelope: DsseEnvelope;
  /** The envelope as JSON bytes, as attached (or to write next to the artifact). */
  readonly envelopeBytes: Uint8Array;
  /** The key id the envelope names (`''` when none). */
  readonly keyId: string;
  /** Whether the envelope was stored in the container. */
  readonly attached: boolean;
}

/**
 * Signs an artifact file in one call, with a key and no Sigstore: builds its SLSA provenance
 * statement, signs it into a DSSE envelope whose subject is the artifact digest, and attaches the
 * envelope to the container. `createKeyVerifier` with the public key then verifies it on load.
 * For Sigstore bundles (Rekor, Fulcio), use `signArtifactFileWithSigstore` of `@plumbline/sigstore`.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { signArtifactFile } from '@plumbline/core/node';
 * const signed = await signArtifactFile('dist/gateway.plb', {
 *   privateKey: await readFile('keys/release.key.pem', 'utf8'),
 * });
 * console.log(signed.artifactDigest, signed.keyId);
 * ```
 * @throws {@link PlumblineError} `PLB_SIGNER_CONFIG` unless exactly one of `privateKey` and `signer` is
 *   given; `PLB_KEY_INVALID` / `PLB_KEY_UNSUPPORTED` for an unusable key; as
 *   {@link attestArtifactFile} and `updateAttachmentsFile`.
 * @public
 */
export async function signArtifactFile(
  path: string,
  options: SignArtifactFileOptions,
): Promise<SignedArtifactFile> {
  const { privateKey, passphrase, signer: given, attach = true, ...statementOptions } = options;
  if ((privateKey === undefined) === (given === undefined)) {
    throw new PlumblineError('PLB_SIGNER_CONFIG', 'give either privateKey or signer');
  }
  const signer =
    given ??
    (await createKeySigner({
      privateKey: privateKey!,
      ...(passphrase === undefined ? {} : { passphrase }),
    }));
  const attested = await attestArtifactFile(path, statementOptions);
  const signal = options.signal;
  const envelope = await signDsseEnvelope({
    payload: encodeStatement(attested.statement),
    signers: signer,
    ...(signal ? { signal } : {}),
  });
  const envelopeBytes = encodeDsseEnvelope(envelope);
  if (attach) {
    await updateAttachmentsFile(
      attested.path,
      { [DSSE_ENVELOPE_ATTACHMENT]: envelopeBytes },
      signal ? { signal } : {},
    );
  }
  return { ...attested, envelope, envelopeBytes, keyId: signer.keyId ?? '', attached: attach };
}
