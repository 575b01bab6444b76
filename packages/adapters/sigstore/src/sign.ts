import { bundleToJSON, type Bundle, type SerializedBundle } from '@sigstore/bundle';
import {
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  DSSEBundleBuilder,
  FulcioSigner,
  RekorWitness,
  TSAWitness,
  type Signer as SigstoreSigner,
  type Witness,
} from '@sigstore/sign';
import { PlumblineError } from '@plumbline/core';
import { createRedactor, REDACTED } from '@plumbline/core/audit';
import { encodeStatement, type Statement } from '@plumbline/core/attest';
import {
  createKeySigner,
  IN_TOTO_PAYLOAD_TYPE,
  type KeyInput,
  type Signer,
} from '@plumbline/core/signer';

export { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL };

/** The public timestamp authority of Sigstore (used only when asked for). @public */
export const DEFAULT_TSA_URL = 'https://timestamp.sigstore.dev';

/**
 * Network options shared by the Sigstore service clients.
 *
 * @public
 */
export interface SigstoreServiceOptions {
  /** Per-request timeout in milliseconds (default 30 000). */
  readonly timeoutMs?: number;
  /** Retries per request (default 2). */
  readonly retries?: number;
  /** Stops waiting for the services; the bundle is then not returned. */
  readonly signal?: AbortSignal;
  /**
   * Rekor v1 entry kind for the DSSE envelope: `dsse` (default, what public Rekor expects) or
   * `intoto` (v0.0.2, for older private instances and test doubles that store proposed entries as-is).
   */
  readonly rekorEntryType?: 'dsse' | 'intoto';
}

/**
 * What to sign: an in-toto statement, or the exact payload bytes of one.
 *
 * @public
 */
export type AttestationInput =
  { readonly statement: Statement<unknown> } | { readonly payload: Uint8Array };

/**
 * Options for {@link createKeyBundle}.
 *
 * @public
 */
export type KeyBundleOptions = AttestationInput &
  SigstoreServiceOptions & {
    /** A local Ed25519/P-256 private key (PEM, JWK, KeyObject, …). Give this or `signer`. */
    readonly privateKey?: KeyInput;
    /** Passphrase of an encrypted PEM private key. */
    readonly passphrase?: string;
    /** A signer the caller supplies (a KMS, an HSM). Needs `publicKeyPem` when a Rekor entry is wanted. */
    readonly signer?: Signer;
    /** The signer's public key as SPKI PEM (derived automatically from `privateKey`). */
    readonly publicKeyPem?: string;
    /** The bundle's public key hint (default: the signer's key id). */
    readonly keyHint?: string;
    /** Also record the signature in this Rekor instance (default: no transparency-log entry). */
    readonly rekorUrl?: string;
    /** Also get an RFC 3161 timestamp from this TSA (default: none). */
    readonly tsaUrl?: string;
  };

/**
 * Options for {@link createKeylessBundle}.
 *
 * @public
 */
export type KeylessBundleOptions = AttestationInput &
  SigstoreServiceOptions & {
    /** The OIDC identity token (a JWT), or a function that fetches one. Never logged. */
    readonly identityToken: string | (() => Promise<string>);
    /** Fulcio URL (default the public instance). */
    readonly fulcioUrl?: string;
    /** Rekor URL (default the public instance); `false` records no transparency-log entry. */
    readonly rekorUrl?: string | false;
    /** An RFC 3161 timestamp authority URL (default: none). */
    readonly tsaUrl?: string;
  };

function payloadOf(input: AttestationInput): Uint8Array {
  return 'statement' in input ? encodeStatement(input.statement) : input.payload;
}

function fetchOptions(options: SigstoreServiceOptions): { timeout: number; retry: number } {
  return { timeout: options.timeoutMs ?? 30_000, retry: options.retries ?? 2 };
}

function witnesses(
  rekorUrl: string | undefined,
  tsaUrl: string | undefined,
  options: SigstoreServiceOptions,
): Witness[] {
  const list: Witness[] = [];
  if (rekorUrl)
    list.push(
      new RekorWitness({
        rekorBaseURL: rekorUrl,
        entryType: options.rekorEntryType ?? 'dsse',
        ...fetchOptions(options),
      }),
    );
  if (tsaUrl) list.push(new TSAWitness({ tsaBaseURL: tsaUrl, ...fetchOptions(options) }));
  return list;
}

function aborted(signal: AbortSignal): PlumblineError {
  return new PlumblineError('PLB_ABORTED', 'signing was aborted', { cause: signal.reason });
}

async function withSignal<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) throw aborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

const redact = createRedactor();

/** `text` with every known secret and everything the audit redactor detects replaced. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  const redacted = redact(out);
  return typeof redacted === 'string' ? redacted : REDACTED;
}

/**
 * A coded error for a failure inside @sigstore/sign (or a token provider). Third-party messages
 * may quote what they were given (the identity token, a passphrase): the message and the cause
 * chain kept are scrubbed copies, never the original error.
 */
function serviceError(error: unknown, what: string, secrets: readonly string[]): PlumblineError {
  if (PlumblineError.is(error)) return error;
  const chain: string[] = [];
  for (let e: unknown = error, i = 0; e !== undefined && e !== null && i < 8; i++) {
    chain.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const message = scrub(chain[0] ?? 'unknown error', secrets);
  const cause = new Error(scrub(chain.join(': '), secrets));
  return new PlumblineError('PLB_SIGSTORE_SIGNING', `${what} failed: ${message}`, { cause });
}

async function build(
  builder: DSSEBundleBuilder,
  payload: Uint8Array,
  options: SigstoreServiceOptions,
  what: string,
  secrets: readonly string[],
): Promise<SerializedBundle> {
  let bundle: Bundle;
  try {
    bundle = await withSignal(
      builder.create({ data: Buffer.from(payload), type: IN_TOTO_PAYLOAD_TYPE }),
      options.signal,
    );
  } catch (error) {
    throw serviceError(error, what, secrets);
  }
  return bundleToJSON(bundle);
}

/**
 * Signs an attestation with a key into a Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`)
 * holding a DSSE envelope. Works offline unless `rekorUrl` or `tsaUrl` is given.
 *
 * @example
 * ```ts
 * import { createKeyBundle } from '@plumbline/sigstore';
 * const bundle = await createKeyBundle({ statement, privateKey: await readFile('signing.key.pem', 'utf8') });
 * await writeFile('gateway.plb.sigstore.json', JSON.stringify(bundle));
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_VERIFIER_CONFIG` without a key or signer (or a Rekor entry
 *   without a public key), `PLB_KEY_INVALID`, `PLB_SIGSTORE_SIGNING` when a service fails,
 *   `PLB_ABORTED`.
 * @public
 */
export async function createKeyBundle(options: KeyBundleOptions): Promise<SerializedBundle> {
  let signer = options.signer;
  let publicKeyPem = options.publicKeyPem;
  if (!signer) {
    if (options.privateKey === undefined) {
      throw new PlumblineError(
        'PLB_VERIFIER_CONFIG',
        'key-based signing needs a privateKey or a signer',
      );
    }
    const keySigner = await createKeySigner({
      privateKey: options.privateKey,
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    });
    signer = keySigner;
    publicKeyPem ??= keySigner.publicKeyPem;
  }
  if (options.rekorUrl && !publicKeyPem) {
    throw new PlumblineError(
      'PLB_VERIFIER_CONFIG',
      'a Rekor entry for a custom signer needs its publicKeyPem',
    );
  }
  const coreSigner = signer;
  const hint = options.keyHint ?? coreSigner.keyId ?? '';
  const sigstoreSigner: SigstoreSigner = {
    async sign(data) {
      const signature = await coreSigner.sign(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
      return {
        signature: Buffer.from(signature),
        key: { $case: 'publicKey', publicKey: publicKeyPem ?? '', hint },
      };
    },
  };
  const builder = new DSSEBundleBuilder({
    signer: sigstoreSigner,
    witnesses: witnesses(options.rekorUrl, options.tsaUrl, options),
  });
  const secrets = options.passphrase === undefined ? [] : [options.passphrase];
  return build(builder, payloadOf(options), options, 'key-based signing', secrets);
}

/**
 * Signs an attestation keylessly: an ephemeral key, a Fulcio certificate for the OIDC identity,
 * a Rekor entry (unless `rekorUrl: false`) and optionally an RFC 3161 timestamp. The bundle holds
 * the leaf certificate (v0.3 media type).
 *
 * @example
 * ```ts
 * import { createKeylessBundle } from '@plumbline/sigstore';
 * const bundle = await createKeylessBundle({
 *   statement,
 *   identityToken: process.env.SIGSTORE_ID_TOKEN!,
 *   fulcioUrl: 'https://fulcio.internal.example', rekorUrl: 'https://rekor.internal.example',
 * });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SIGSTORE_SIGNING` when Fulcio, Rekor or the TSA fails (the
 *   token is never part of the message), `PLB_ABORTED`.
 * @public
 */
export async function createKeylessBundle(
  options: KeylessBundleOptions,
): Promise<SerializedBundle> {
  const token = options.identityToken;
  // Every token handed to Fulcio, so no error message can quote one.
  const secrets: string[] = typeof token === 'string' ? [token] : [];
  const getToken =
    typeof token === 'string'
      ? async () => token
      : async () => {
          const fetched = await token();
          secrets.push(fetched);
          return fetched;
        };
  const signer = new FulcioSigner({
    identityProvider: { getToken },
    fulcioBaseURL: options.fulcioUrl ?? DEFAULT_FULCIO_URL,
    ...fetchOptions(options),
  });
  const rekorUrl = options.rekorUrl === false ? undefined : (options.rekorUrl ?? DEFAULT_REKOR_URL);
  const builder = new DSSEBundleBuilder({
    signer,
    witnesses: witnesses(rekorUrl, options.tsaUrl, options),
  });
  return build(builder, payloadOf(options), options, 'keyless signing', secrets);
}
