import { PlumblineError, type PlumblineErrorCode } from '../errors.js';
import { utf8 } from '../encoding/utf8.js';
import { decodeBase64, encodeBase64 } from '../encoding/base64.js';
import type { SignatureVerifier, Signer } from './types.js';

/**
 * The DSSE payload type of in-toto statements.
 *
 * @public
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * One DSSE signature: base64 `sig` and an optional `keyid` hint.
 *
 * @public
 */
export interface DsseSignature {
  /** The signing key's id, a hint for picking the verifying key; absent when the signer has none. */
  readonly keyid?: string;
  /** The signature over `PAE(payloadType, payload)`, base64. */
  readonly sig: string;
}

/**
 * A DSSE envelope (JSON form): base64 `payload`, its `payloadType`, and signatures over
 * `PAE(payloadType, payload)`.
 *
 * @public
 */
export interface DsseEnvelope {
  /** The payload bytes, base64 (for in-toto: the statement's JSON). */
  readonly payload: string;
  /** The payload's media type, such as {@link IN_TOTO_PAYLOAD_TYPE}. */
  readonly payloadType: string;
  /** The signatures; at least one in a valid envelope. */
  readonly signatures: readonly DsseSignature[];
}

/**
 * Limits for reading envelopes; every one has a finite default.
 *
 * @public
 */
export interface DsseLimits {
  /** Largest envelope JSON in bytes (default 64 MiB). */
  readonly maxEnvelopeBytes?: number;
  /** Largest decoded payload in bytes (default 32 MiB). */
  readonly maxPayloadBytes?: number;
  /** Most signatures (default 16). */
  readonly maxSignatures?: number;
}

/** @internal */
export const DSSE_DEFAULTS = {
  maxEnvelopeBytes: 64 * 1024 * 1024,
  maxPayloadBytes: 32 * 1024 * 1024,
  maxSignatures: 16,
} as const;

/**
 * DSSE v1 pre-authentication encoding:
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII decimal byte counts.
 *
 * @example
 * ```ts
 * preAuthEncoding('t', new TextEncoder().encode('hi')); // bytes of "DSSEv1 1 t 2 hi"
 * ```
 * @public
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  const head = utf8(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/**
 * Options for {@link signDsseEnvelope}.
 *
 * @public
 */
export interface SignDsseOptions {
  /** The payload bytes (for in-toto: the statement's JSON). */
  readonly payload: Uint8Array;
  /** Default {@link IN_TOTO_PAYLOAD_TYPE}. */
  readonly payloadType?: string;
  /** One signer or several (each adds a signature). */
  readonly signers: Signer | readonly Signer[];
  /** Checked before each signature is made: once aborted, the call rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * Signs a payload into a DSSE envelope.
 *
 * @example
 * ```ts
 * const envelope = await signDsseEnvelope({ payload: statementBytes, signers: signer });
 * ```
 * @throws {@link PlumblineError} `PLB_DSSE_NO_SIGNER` without signers, `PLB_ABORTED` when the
 *   signal fires, or what a signer throws.
 * @public
 */
export async function signDsseEnvelope(options: SignDsseOptions): Promise<DsseEnvelope> {
  const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const signers = Array.isArray(options.signers)
    ? (options.signers as readonly Signer[])
    : [options.signers as Signer];
  if (signers.length === 0)
    throw new PlumblineError('PLB_DSSE_NO_SIGNER', 'a DSSE envelope needs at least one signer');
  const pae = preAuthEncoding(payloadType, options.payload);
  const signatures: DsseSignature[] = [];
  for (const signer of signers) {
    throwIfAborted(options.signal);
    const sig = encodeBase64(await signer.sign(pae));
    signatures.push(signer.keyId ? { keyid: signer.keyId, sig } : { sig });
  }
  return { payload: encodeBase64(options.payload), payloadType, signatures };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PlumblineError('PLB_ABORTED', 'the operation was aborted', { cause: signal.reason });
  }
}

function malformed(message: string, details?: Record<string, unknown>): PlumblineError {
  return new PlumblineError('PLB_DSSE_MALFORMED', message, details ? { details } : {});
}

/**
 * Checks that a parsed JSON value is a DSSE envelope within the limits and returns it typed
 * (unknown fields are dropped).
 *
 * @example
 * ```ts
 * const envelope = toDsseEnvelope(JSON.parse(text));
 * ```
 * @throws {@link PlumblineError} `PLB_DSSE_MALFORMED` for a wrong shape or invalid base64,
 *   `PLB_DSSE_TOO_LARGE` beyond a limit.
 * @public
 */
export function toDsseEnvelope(value: unknown, limits: DsseLimits = {}): DsseEnvelope {
  const maxSignatures = limits.maxSignatures ?? DSSE_DEFAULTS.maxSignatures;
  const maxPayloadBytes = limits.maxPayloadBytes ?? DSSE_DEFAULTS.maxPayloadBytes;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed('a DSSE envelope is a JSON object');
  }
  const { payload, payloadType, signatures } = value as Record<string, unknown>;
  if (typeof payload !== 'string') throw malformed('the DSSE envelope has no "payload" string');
  if (typeof payloadType !== 'string' || payloadType.length === 0) {
    throw malformed('the DSSE envelope has no "payloadType" string');
  }
  if (!Array.isArray(signatures) || signatures.length === 0) {
    throw malformed('the DSSE envelope has no signatures');
  }
  if (signatures.length > maxSignatures) {
    throw new PlumblineError(
      'PLB_DSSE_TOO_LARGE',
      `the DSSE envelope has more than ${maxSignatures} signatures`,
      {
        details: { count: signatures.length, maxSignatures },
      },
    );
  }
  if (Math.floor((payload.length * 3) / 4) > maxPayloadBytes + 2) {
    throw new PlumblineError(
      'PLB_DSSE_TOO_LARGE',
      `the DSSE payload is larger than ${maxPayloadBytes} bytes`,
      {
        details: { maxPayloadBytes },
      },
    );
  }
  const out: DsseSignature[] = [];
  for (const [index, entry] of signatures.entries()) {
    if (typeof entry !== 'object' || entry === null)
      throw malformed('a DSSE signature is an object', { index });
    const { sig, keyid } = entry as Record<string, unknown>;
    if (typeof sig !== 'string' || sig.length === 0)
      throw malformed('a DSSE signature has no "sig"', { index });
    if (keyid !== undefined && typeof keyid !== 'string')
      throw malformed('a DSSE "keyid" is a string', { index });
    out.push(keyid ? { keyid, sig } : { sig });
  }
  return { payload, payloadType, signatures: out };
}

/**
 * Parses envelope JSON bytes, checking the size limit before decoding.
 *
 * @example
 * ```ts
 * const envelope = parseDsseEnvelope(await readFile('statement.dsse.json'));
 * ```
 * @throws {@link PlumblineError} `PLB_DSSE_TOO_LARGE`, `PLB_DSSE_MALFORMED`.
 * @public
 */
export function parseDsseEnvelope(bytes: Uint8Array, limits: DsseLimits = {}): DsseEnvelope {
  const value = parseBoundedJson(bytes, {
    maxBytes: limits.maxEnvelopeBytes ?? DSSE_DEFAULTS.maxEnvelopeBytes,
    limitName: 'maxEnvelopeBytes',
    what: 'the DSSE envelope',
    malformedCode: 'PLB_DSSE_MALFORMED',
  });
  return toDsseEnvelope(value, limits);
}

/**
 * @internal The JSON value of `bytes` (UTF-8), refused with `PLB_DSSE_TOO_LARGE` before decoding
 * when larger than `maxBytes` (the details name the limit `limitName`), and with `malformedCode`
 * when it is not JSON.
 */
export function parseBoundedJson(
  bytes: Uint8Array,
  options: {
    readonly maxBytes: number;
    readonly limitName: string;
    readonly what: string;
    readonly malformedCode: PlumblineErrorCode;
  },
): unknown {
  const { maxBytes, limitName, what, malformedCode } = options;
  if (bytes.length > maxBytes) {
    throw new PlumblineError('PLB_DSSE_TOO_LARGE', `${what} is larger than ${maxBytes} bytes`, {
      details: { size: bytes.length, [limitName]: maxBytes },
    });
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new PlumblineError(malformedCode, `${what} is not JSON`, { cause: error });
  }
}

/**
 * Encodes an envelope as JSON bytes (fields in the order `payload`, `payloadType`, `signatures`).
 *
 * @example
 * ```ts
 * await writeFile('statement.dsse.json', encodeDsseEnvelope(envelope));
 * ```
 * @public
 */
export function encodeDsseEnvelope(envelope: DsseEnvelope): Uint8Array {
  return utf8(
    JSON.stringify({
      payload: envelope.payload,
      payloadType: envelope.payloadType,
      signatures: envelope.signatures.map((s) =>
        s.keyid ? { keyid: s.keyid, sig: s.sig } : { sig: s.sig },
      ),
    }),
  );
}

/**
 * Options for {@link verifyDsseEnvelope}.
 *
 * @public
 */
export interface VerifyDsseOptions extends DsseLimits {
  /** Trusted keys. A signature whose `keyid` names one of them is checked against that key only. */
  readonly verifiers: readonly SignatureVerifier[];
  /** How many distinct trusted keys must have signed (default 1). */
  readonly threshold?: number;
  /** The payload type to require (default {@link IN_TOTO_PAYLOAD_TYPE}). */
  readonly payloadType?: string;
  /** Checked before each signature is checked: once aborted, the call rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * The outcome of {@link verifyDsseEnvelope}.
 *
 * @public
 */
export type DsseVerification =
  | {
      readonly valid: true;
      /** The decoded payload: only ever read a payload after it verified. */
      readonly payload: Uint8Array;
      readonly payloadType: string;
      /** Key ids of the verifiers whose signatures checked. */
      readonly keyIds: readonly string[];
    }
  | {
      readonly valid: false;
      readonly code:
        | 'PLB_DSSE_PAYLOAD_TYPE'
        | 'PLB_SIGNATURE_INVALID'
        | 'PLB_SIGNATURE_UNKNOWN_KEY'
        | 'PLB_DSSE_MALFORMED';
      readonly reason: string;
    };

/**
 * Verifies a DSSE envelope's signatures against trusted keys. Returns a verdict rather than
 * throwing for a bad signature; throws only for a malformed envelope.
 *
 * @example
 * ```ts
 * const result = await verifyDsseEnvelope(envelope, { verifiers: [await createKeySignatureVerifier({ publicKey })] });
 * if (result.valid) JSON.parse(new TextDecoder().decode(result.payload));
 * ```
 * @throws {@link PlumblineError} `PLB_DSSE_MALFORMED` / `PLB_DSSE_TOO_LARGE` for an envelope
 *   that is not one, `PLB_ABORTED`.
 * @public
 */
export async function verifyDsseEnvelope(
  envelope: DsseEnvelope,
  options: VerifyDsseOptions,
): Promise<DsseVerification> {
  const checked = toDsseEnvelope(envelope, options);
  const threshold = options.threshold ?? 1;
  const wantedType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  if (checked.payloadType !== wantedType) {
    return {
      valid: false,
      code: 'PLB_DSSE_PAYLOAD_TYPE',
      reason: `the DSSE payload type is "${checked.payloadType.slice(0, 100)}", not "${wantedType}"`,
    };
  }
  let payload: Uint8Array;
  try {
    payload = decodeBase64(checked.payload, {
      maxBytes: options.maxPayloadBytes ?? DSSE_DEFAULTS.maxPayloadBytes,
    });
  } catch (error) {
    return {
      valid: false,
      code: 'PLB_DSSE_MALFORMED',
      reason: `the DSSE payload is not base64: ${(error as Error).message}`,
    };
  }
  const pae = preAuthEncoding(checked.payloadType, payload);
  const accepted = new Set<SignatureVerifier>();
  let matchedAnyKey = false;
  for (const signature of checked.signatures) {
    throwIfAborted(options.signal);
    let sig: Uint8Array;
    try {
      sig = decodeBase64(signature.sig, { maxBytes: 16 * 1024 });
    } catch {
      continue;
    }
    const named = signature.keyid
      ? options.verifiers.filter((v) => v.keyId === signature.keyid)
      : [];
    const candidates =
      named.length > 0 ? named : options.verifiers.filter((v) => !signature.keyid || !v.keyId);
    const pool = candidates.length > 0 ? candidates : options.verifiers;
    if (named.length > 0 || !signature.keyid) matchedAnyKey = true;
    for (const verifier of pool) {
      if (accepted.has(verifier)) continue;
      if (await checks(verifier, pae, sig)) {
        accepted.add(verifier);
        matchedAnyKey = true;
        break;
      }
    }
  }
  if (accepted.size >= threshold && accepted.size > 0) {
    return {
      valid: true,
      payload,
      payloadType: checked.payloadType,
      keyIds: [...accepted].map((v) => v.keyId ?? ''),
    };
  }
  if (!matchedAnyKey) {
    return {
      valid: false,
      code: 'PLB_SIGNATURE_UNKNOWN_KEY',
      reason: 'no signature was made by a trusted key (key ids do not match)',
    };
  }
  return {
    valid: false,
    code: 'PLB_SIGNATURE_INVALID',
    reason:
      accepted.size === 0
        ? 'the DSSE signature does not verify with the trusted key'
        : `only ${accepted.size} of the required ${threshold} trusted keys signed`,
  };
}

/**
 * One signature check by a trusted verifier, which may be integrator code (a KMS, an HSM): only
 * `true` accepts, and a verifier that throws or rejects counts as a failed check.
 */
async function checks(
  verifier: SignatureVerifier,
  pae: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  try {
    return (await verifier.verify(pae, sig)) === true;
  } catch {
    return false;
  }
}
