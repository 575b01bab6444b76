import { createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON, isBundleWithDsseEnvelope, type Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  toSignedEntity,
  toTrustMaterial,
  Verifier as SigstoreVerifier,
  type VerifierOptions,
} from '@sigstore/verify';
import { limitOption, PlumblineError, type PlumblineErrorCode } from '@plumbline/core';
import {
  checkStatementSubject,
  parseStatement,
  type StatementLimits,
} from '@plumbline/core/attest';
import {
  createKeySignatureVerifier,
  firstValidSignature,
  DSSE_ENVELOPE_ATTACHMENT,
  IN_TOTO_PAYLOAD_TYPE,
  SIGSTORE_BUNDLE_ATTACHMENT,
  toDsseEnvelope,
  verifyDsseEnvelope,
  type KeyInput,
  type KeySignatureVerifier,
  type SignatureSubject,
  type SignatureVerdict,
  type Verifier,
} from '@plumbline/core/signer';
import { checkIdentity, checkPolicies, type IdentityPolicy } from './identity.js';
import { emptyTrustedRoot, parseTrustedRoot, type TrustedRootLimits } from './trust.js';

/**
 * Options for {@link createSigstoreVerifier}. Give `publicKeys` (key-based bundles), a
 * `trustedRoot` with `identities` (keyless bundles), or both.
 *
 * @public
 */
export interface SigstoreVerifierOptions extends StatementLimits, TrustedRootLimits {
  /** Trusted public keys for key-based bundles (PEM, JWK, KeyObject, …). */
  readonly publicKeys?: readonly KeyInput[];
  /** A `trusted_root.json` (bytes, text or parsed) with the Fulcio CAs, Rekor logs, CT logs and TSAs to trust. */
  readonly trustedRoot?: Uint8Array | string | object;
  /** Who may sign keylessly (any one policy must match). Required with `trustedRoot`. */
  readonly identities?: readonly IdentityPolicy[];
  /** Transparency-log entries required: default 1 for certificates, 0 for keys. */
  readonly tlogThreshold?: number;
  /** Signed certificate timestamps required: default 1. */
  readonly ctlogThreshold?: number;
  /** Verified timestamps required (log entries and RFC 3161): default 1 for certificates, 0 for keys. */
  readonly timestampThreshold?: number;
  /** Largest bundle in bytes (default 64 MiB). */
  readonly maxBundleBytes?: number;
  /** Attachment keys to look at, in order (default: the Sigstore bundle, then a bare DSSE envelope). */
  readonly attachmentKeys?: readonly string[];
}

/**
 * What a bundle must be about.
 *
 * @public
 */
export interface BundleExpectation {
  /**
   * SHA-256 of the whole artifact file (`sha256:<hex>`): some subject of the signed statement
   * must carry this `sha256` digest.
   */
  readonly artifactDigest: string;
  /**
   * The artifact header's `artifact_hash` (manifest root, `sha256:<hex>`): when the matching
   * subject also carries it, the two must be equal. Absent: not checked.
   */
  readonly artifactHash?: string;
  /**
   * SHA-256 of the encoded header, compared with the statement's header-digest annotation only
   * to name what changed (payload or header) when no subject matches. Absent: not compared.
   */
  readonly headerDigest?: string;
}

/**
 * The artifact-level Sigstore verifier: a core {@link Verifier} with a bundle-level entry point.
 *
 * @public
 */
export interface SigstoreArtifactVerifier extends Verifier {
  /** Verifies one bundle's bytes against what it must be about. Never throws for a bad bundle. */
  verifyBundle(bytes: Uint8Array, expected: BundleExpectation): Promise<SignatureVerdict>;
}

type Failure = { code: PlumblineErrorCode; reason: string };

const SIGSTORE_CODES: Record<string, PlumblineErrorCode> = {
  CERTIFICATE_ERROR: 'PLB_SIGSTORE_CERTIFICATE',
  TLOG_ERROR: 'PLB_SIGSTORE_TLOG',
  TLOG_INCLUSION_PROOF_ERROR: 'PLB_SIGSTORE_TLOG',
  TLOG_INCLUSION_PROMISE_ERROR: 'PLB_SIGSTORE_TLOG',
  TLOG_MISSING_INCLUSION_ERROR: 'PLB_SIGSTORE_TLOG',
  TLOG_BODY_ERROR: 'PLB_SIGSTORE_TLOG',
  TIMESTAMP_ERROR: 'PLB_SIGSTORE_TIMESTAMP',
  SIGNATURE_ERROR: 'PLB_SIGNATURE_INVALID',
  PUBLIC_KEY_ERROR: 'PLB_SIGNATURE_UNKNOWN_KEY',
  UNTRUSTED_SIGNER_ERROR: 'PLB_SIGSTORE_IDENTITY',
};

function fromSigstoreError(error: unknown): Failure {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && code in SIGSTORE_CODES) {
    return {
      code: SIGSTORE_CODES[code]!,
      reason: `${code.toLowerCase().replace(/_/g, ' ')}: ${message}`,
    };
  }
  return { code: 'PLB_SIGSTORE_VERIFICATION', reason: message };
}

function leafCertificate(bundle: Bundle): X509Certificate | undefined {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'x509CertificateChain') {
    const first = material.x509CertificateChain.certificates[0];
    return first ? X509Certificate.parse(Buffer.from(first.rawBytes)) : undefined;
  }
  if (material.$case === 'certificate')
    return X509Certificate.parse(Buffer.from(material.certificate.rawBytes));
  return undefined;
}

function countTimestamps(bundle: Bundle): number {
  const tsa = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  const logs = bundle.verificationMaterial.tlogEntries.filter(
    (e) => e.integratedTime !== '0' && e.inclusionPromise,
  ).length;
  return tsa + logs;
}

/**
 * Creates the offline Sigstore verifier. It checks, in this order: the bundle's shape, the DSSE
 * payload type, the DSSE signature (with the trusted key, or the leaf certificate's key), the
 * certificate chain, SCTs, transparency-log entries and timestamps against the trust material
 * (`@sigstore/verify`), the signer's identity and issuer, and finally that the signed in-toto
 * statement names this artifact. Each failure has its own code.
 *
 * @example
 * ```ts
 * import { createSigstoreVerifier } from '@plumbline/sigstore';
 * const verifier = await createSigstoreVerifier({
 *   trustedRoot: await readFile('trusted_root.json'),
 *   identities: [{ subjectAlternativeName: 'https://github.com/acme/gw/.github/workflows/build.yml@refs/heads/main',
 *                  issuer: 'https://token.actions.githubusercontent.com' }],
 * });
 * const result = await verifyOnLoad(artifact, { mode: 'enforce', requireSignature: true, verifier });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_VERIFIER_CONFIG` without keys or trust root,
 *   a trust root without identity policies, a threshold that is not a whole number >= 0 or a
 *   `maxBundleBytes` that is not a positive integer; `PLB_SIGSTORE_TRUST_ROOT`; `PLB_KEY_INVALID`.
 * @public
 */
export async function createSigstoreVerifier(
  options: SigstoreVerifierOptions,
): Promise<SigstoreArtifactVerifier> {
  const config = await verifierConfig(options);
  const attachmentKeys = options.attachmentKeys ?? [
    SIGSTORE_BUNDLE_ATTACHMENT,
    DSSE_ENVELOPE_ATTACHMENT,
  ];

  // Any unexpected error while reading a bundle (an RSA certificate key, a malformed envelope the
  // bundle schema let through) becomes a verdict: a bad bundle never throws into the host.
  async function verifyBundle(
    bytes: Uint8Array,
    expected: BundleExpectation,
  ): Promise<SignatureVerdict> {
    try {
      return await verifyBundleUnchecked(config, bytes, expected);
    } catch (error) {
      const coded = PlumblineError.is(error) ? error : undefined;
      return {
        present: true,
        valid: false,
        code: coded?.code ?? 'PLB_SIGSTORE_VERIFICATION',
        reason: error instanceof Error ? error.message : String(error),
      };
    }
  }

  const kinds = [config.keyVerifiers.length > 0 ? 'key' : '', config.hasRoot ? 'keyless' : '']
    .filter(Boolean)
    .join('+');
  return {
    name: `sigstore:${kinds}`,
    verifyBundle,
    async verify(subject: SignatureSubject, verifyOptions = {}) {
      return await firstValidSignature(
        subject,
        attachmentKeys,
        async (bytes, source) => ({ ...(await verifyBundle(bytes, subject)), source }),
        verifyOptions.signal,
      );
    },
  };
}

/** The verifier's options, checked, with the trust material and trusted keys ready. */
interface VerifierConfig {
  readonly options: SigstoreVerifierOptions;
  readonly identities: readonly IdentityPolicy[];
  readonly root: TrustedRoot;
  readonly hasRoot: boolean;
  readonly keyVerifiers: readonly KeySignatureVerifier[];
  readonly keyObjects: ReadonlyMap<string, KeyObject>;
  readonly maxBundleBytes: number;
  readonly dsseLimits: { readonly maxEnvelopeBytes: number; readonly maxPayloadBytes: number };
}

async function verifierConfig(options: SigstoreVerifierOptions): Promise<VerifierConfig> {
  const publicKeys = options.publicKeys ?? [];
  if (publicKeys.length === 0 && options.trustedRoot === undefined) {
    throw new PlumblineError(
      'PLB_VERIFIER_CONFIG',
      'a Sigstore verifier needs publicKeys or a trustedRoot',
    );
  }
  const identities = options.identities ?? [];
  if (options.trustedRoot !== undefined && identities.length === 0) {
    throw new PlumblineError(
      'PLB_VERIFIER_CONFIG',
      'keyless verification needs an identity policy (certificate identity and OIDC issuer)',
    );
  }
  checkPolicies(identities);
  // A threshold that is not a whole number (NaN, say) would let the check pass: refuse it.
  for (const name of ['tlogThreshold', 'ctlogThreshold', 'timestampThreshold'] as const) {
    if (options[name] !== undefined)
      limitOption(options[name], { name, code: 'PLB_VERIFIER_CONFIG', min: 0 });
  }
  const root: TrustedRoot =
    options.trustedRoot === undefined
      ? emptyTrustedRoot()
      : parseTrustedRoot(options.trustedRoot, options);
  const keyVerifiers: KeySignatureVerifier[] = [];
  for (const key of publicKeys)
    keyVerifiers.push(await createKeySignatureVerifier({ publicKey: key }));
  const keyObjects = new Map(
    keyVerifiers.map((v) => [v.keyId, createPublicKey(v.publicKeyPem)] as const),
  );
  const maxBundleBytes = limitOption(options.maxBundleBytes, {
    name: 'maxBundleBytes',
    code: 'PLB_VERIFIER_CONFIG',
    fallback: 64 * 1024 * 1024,
  });
  return {
    options,
    identities,
    root,
    hasRoot: options.trustedRoot !== undefined,
    keyVerifiers,
    keyObjects,
    maxBundleBytes,
    dsseLimits: {
      maxEnvelopeBytes: maxBundleBytes,
      maxPayloadBytes: options.maxBytes ?? 32 * 1024 * 1024,
    },
  };
}

/** A step that refused the bundle. */
interface Refused {
  readonly refused: Failure;
}

function refused(code: PlumblineErrorCode, reason: string): Refused {
  return { refused: { code, reason } };
}

function failedVerdict(failure: Failure, extra: Partial<SignatureVerdict> = {}): SignatureVerdict {
  return { present: true, valid: false, code: failure.code, reason: failure.reason, ...extra };
}

/**
 * The checks of one bundle, in order: readable, the DSSE signature, the trust material, the
 * signer's identity, then the statement's subject.
 */
async function verifyBundleUnchecked(
  config: VerifierConfig,
  bytes: Uint8Array,
  expected: BundleExpectation,
): Promise<SignatureVerdict> {
  const read = readBundle(config, bytes);
  if ('refused' in read) return failedVerdict(read.refused);
  const { bundle, envelope, coreEnvelope } = read;
  // 1. The DSSE signature, with the key the bundle claims (certificate) or a trusted key.
  const signed = await checkSignature(config, bundle, coreEnvelope);
  if ('refused' in signed) return failedVerdict(signed.refused);
  const { leaf, keyId } = signed;
  // 2. Chain, SCTs, log entries and timestamps against the trust material.
  const trusted = checkTrust(config, bundle, leaf, signed.signingKey);
  if ('refused' in trusted) return failedVerdict(trusted.refused);
  const identity = trusted.identity;
  // 3. Who signed.
  const who = leaf
    ? {
        ...(identity.subjectAlternativeName ? { identity: identity.subjectAlternativeName } : {}),
        ...(identity.issuer ? { issuer: identity.issuer } : {}),
      }
    : keyId
      ? { keyId }
      : {};
  if (leaf) {
    const problem = checkIdentity(config.identities, identity);
    if (problem)
      return failedVerdict({ code: 'PLB_SIGSTORE_IDENTITY', reason: problem }, { signer: who });
  }
  // 4. What was signed.
  let statement;
  try {
    statement = parseStatement(new Uint8Array(envelope.payload), config.options);
  } catch (error) {
    const coded = PlumblineError.is(error)
      ? error
      : new PlumblineError('PLB_ATTESTATION_MALFORMED', String(error));
    return failedVerdict({ code: coded.code, reason: coded.message }, { signer: who });
  }
  const mismatch = checkStatementSubject(statement, expected);
  if (mismatch)
    return failedVerdict(mismatch, { signer: who, predicateType: statement.predicateType });
  return { present: true, valid: true, signer: who, predicateType: statement.predicateType };
}

/** The bundle's bytes as a Sigstore bundle with an in-toto DSSE envelope, within the limits. */
function readBundle(
  config: VerifierConfig,
  bytes: Uint8Array,
):
  | Refused
  | {
      bundle: Bundle;
      envelope: { payload: Buffer; payloadType: string };
      coreEnvelope: ReturnType<typeof toDsseEnvelope>;
    } {
  if (bytes.byteLength > config.maxBundleBytes) {
    return refused(
      'PLB_DSSE_TOO_LARGE',
      `the bundle is larger than ${config.maxBundleBytes} bytes`,
    );
  }
  let json: unknown;
  let bundle: Bundle;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    bundle = bundleFromJSON(json);
  } catch (error) {
    return refused('PLB_BUNDLE_MALFORMED', `not a Sigstore bundle: ${(error as Error).message}`);
  }
  if (!isBundleWithDsseEnvelope(bundle)) {
    return refused('PLB_BUNDLE_MALFORMED', 'the bundle holds no DSSE envelope');
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return refused(
      'PLB_DSSE_PAYLOAD_TYPE',
      `the DSSE payload type is "${envelope.payloadType.slice(0, 100)}", not "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
  const coreEnvelope = toDsseEnvelope(
    (json as { dsseEnvelope: unknown }).dsseEnvelope,
    config.dsseLimits,
  );
  return { bundle, envelope, coreEnvelope };
}

/** The DSSE signature: with the leaf certificate's key (and a timestamp), else a trusted key. */
async function checkSignature(
  config: VerifierConfig,
  bundle: Bundle,
  coreEnvelope: ReturnType<typeof toDsseEnvelope>,
): Promise<
  Refused | { leaf?: X509Certificate; signingKey?: KeyObject | undefined; keyId?: string }
> {
  let leaf: X509Certificate | undefined;
  try {
    leaf = leafCertificate(bundle);
  } catch (error) {
    return refused(
      'PLB_SIGSTORE_CERTIFICATE',
      `the signing certificate cannot be read: ${(error as Error).message}`,
    );
  }
  if (leaf) {
    const problem = await checkCertificateSignature(config, bundle, leaf, coreEnvelope);
    return problem ?? { leaf };
  }
  if (config.keyVerifiers.length === 0) {
    return refused(
      'PLB_SIGNATURE_UNKNOWN_KEY',
      'the bundle is signed with a key, and no public key is trusted',
    );
  }
  const result = await verifyDsseEnvelope(coreEnvelope, {
    verifiers: config.keyVerifiers,
    ...config.options,
  });
  if (!result.valid) return refused(result.code, result.reason);
  const keyId = result.keyIds[0]!;
  return { keyId, signingKey: config.keyObjects.get(keyId) };
}

async function checkCertificateSignature(
  config: VerifierConfig,
  bundle: Bundle,
  leaf: X509Certificate,
  coreEnvelope: ReturnType<typeof toDsseEnvelope>,
): Promise<Refused | undefined> {
  if (!config.hasRoot) {
    return refused(
      'PLB_SIGSTORE_CERTIFICATE',
      'a certificate-signed bundle needs a trusted root to verify',
    );
  }
  const verifier = await createKeySignatureVerifier({
    publicKey: new Uint8Array(leaf.publicKey),
  });
  const result = await verifyDsseEnvelope(coreEnvelope, {
    verifiers: [{ algorithm: verifier.algorithm, verify: verifier.verify }],
  });
  if (!result.valid)
    return refused(
      'PLB_SIGNATURE_INVALID',
      'the DSSE signature does not verify with the certificate key',
    );
  if (countTimestamps(bundle) > 0) return undefined;
  if (!leaf.validForDate(new Date())) {
    return refused(
      'PLB_SIGSTORE_CERTIFICATE',
      `the signing certificate expired at ${leaf.notAfter.toISOString()} and no timestamp proves it was used while valid`,
    );
  }
  return refused(
    'PLB_SIGSTORE_TIMESTAMP',
    'a certificate-signed bundle needs a transparency-log entry or an RFC 3161 timestamp',
  );
}

/** Chain, SCTs, log entries and timestamps against the trust material; the signer's identity. */
function checkTrust(
  config: VerifierConfig,
  bundle: Bundle,
  leaf: X509Certificate | undefined,
  signingKey: KeyObject | undefined,
): Refused | { identity: { subjectAlternativeName?: string; issuer?: string } } {
  const { options, hasRoot } = config;
  try {
    const material = toTrustMaterial(config.root, () => ({
      publicKey: signingKey!,
      validFor: () => true,
    }));
    let entity = toSignedEntity(bundle);
    const thresholds: VerifierOptions = leaf
      ? {
          tlogThreshold: options.tlogThreshold ?? 1,
          ctlogThreshold: options.ctlogThreshold ?? 1,
          timestampThreshold: options.timestampThreshold ?? 1,
        }
      : {
          tlogThreshold: options.tlogThreshold ?? 0,
          ctlogThreshold: 0,
          timestampThreshold: options.timestampThreshold ?? 0,
        };
    if (!leaf && !hasRoot) entity = { ...entity, tlogEntries: [], timestamps: [] };
    const signer = new SigstoreVerifier(material, thresholds).verify(entity);
    return {
      identity: {
        ...(signer.identity?.subjectAlternativeName
          ? { subjectAlternativeName: signer.identity.subjectAlternativeName }
          : {}),
        ...(signer.identity?.extensions?.issuer
          ? { issuer: signer.identity.extensions.issuer }
          : {}),
      },
    };
  } catch (error) {
    return { refused: fromSigstoreError(error) };
  }
}
