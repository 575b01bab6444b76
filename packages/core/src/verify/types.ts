import type { PlumblineErrorCode } from '../errors.js';
import type { DigestString } from '../hash/digest.js';
import type { PayloadInfo, Provenance, ProvenanceHeader } from '../header/types.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { Verifier } from '../signer/types.js';

/**
 * How a load policy acts on what it finds: `off` checks nothing, `warn` loads and reports why a
 * rule failed, `enforce` refuses to load on any failure or error.
 *
 * @public
 */
export type LoadMode = 'off' | 'warn' | 'enforce';

/**
 * The rules of a load policy, in the order they are evaluated.
 *
 * - `header`: a provenance header is present and intact.
 * - `payload`: the payload's SHA-256 and size match the header.
 * - `commit`: the header names the source commit.
 * - `source`: the header's `provenance.source` is in the allow-list.
 * - `built_after`: the artifact was built no earlier than a given time.
 * - `signature`: a valid signature, checked through a {@link Verifier}.
 *
 * @public
 */
export type LoadRule = 'header' | 'payload' | 'commit' | 'source' | 'built_after' | 'signature';

/**
 * What to check when an artifact is loaded.
 *
 * @example
 * ```ts
 * const policy: LoadPolicy = {
 *   mode: 'enforce',
 *   requireCommit: true,
 *   allowedSources: ['github.com/acme/gateway-config'],
 *   builtNotBefore: '2026-01-01T00:00:00Z',
 *   requireSignature: true,
 *   verifier,
 * };
 * ```
 * @public
 */
export interface LoadPolicy {
  /** What the policy does with what it finds: `off`, `warn` or `enforce` (see {@link LoadMode}). */
  readonly mode: LoadMode;
  /** Require a provenance header (legacy artifacts fail this rule). Default `true`. */
  readonly requireHeader?: boolean;
  /** Hash the payload and compare it with the header's `payload` digest and size. Default `true`. */
  readonly checkPayloadDigest?: boolean;
  /** Require `provenance.commit`. Default `false`. */
  readonly requireCommit?: boolean;
  /**
   * Allowed values of `provenance.source`, compared exactly; an entry ending in `/*` allows every
   * source under that prefix. Unset: any source.
   */
  readonly allowedSources?: readonly string[];
  /** The artifact's `build_timestamp` must not be earlier than this time (RFC 3339 or a Date). */
  readonly builtNotBefore?: string | Date;
  /** Require a valid signature. Needs {@link LoadPolicy.verifier}. Default `false`. */
  readonly requireSignature?: boolean;
  /**
   * Checks signatures. When set and a signature is present, an invalid one fails the `signature`
   * rule even if signatures are not required.
   */
  readonly verifier?: Verifier;
  /** Time a verifier may take before it counts as failed. Default 30 000 ms. */
  readonly verifierTimeoutMs?: number;
}

/**
 * What {@link verifyOnLoad} checks: an artifact that has been opened (its header decoded) but not
 * yet trusted. Build it from a container with `fromOpenedArtifact`, or fill it yourself when the
 * gateway embeds the encoded header in its own format.
 *
 * @public
 */
export interface LoadCandidate {
  /** `container` (Plumbline container), `embedded` (header inside a gateway format) or `legacy` (no header). */
  readonly kind: 'container' | 'embedded' | 'legacy';
  /** The decoded, schema-checked header; absent for legacy artifacts or when decoding failed. */
  readonly header?: ProvenanceHeader;
  /** The encoded header bytes (their SHA-256 is the header digest). */
  readonly headerBytes?: Uint8Array;
  /** Why the header could not be read (the header rule reports it). */
  readonly headerError?: unknown;
  /** SHA-256 of the container with an empty attachments section: what signatures name. */
  readonly artifactDigest?: DigestString;
  /** Container attachments (signatures, bundles) by key. */
  readonly attachments?: Readonly<Record<string, Uint8Array>>;
  /** A detached signature bundle found next to the artifact. */
  readonly detached?: Uint8Array;
  /** The payload bytes, when they are in memory. */
  readonly payload?: Uint8Array;
  /** Measures the payload without holding it (for large payloads on disk). */
  readonly measurePayload?: (options: {
    readonly signal?: AbortSignal;
  }) => Promise<{ readonly digest: DigestString; readonly size: number }>;
}

/**
 * The result of one rule.
 *
 * @public
 */
export interface RuleResult {
  /** The rule this result is for. */
  readonly rule: LoadRule;
  /** `skipped`: not configured, not applicable, or the mode is `off`. */
  readonly status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped (no secrets). */
  readonly reason?: string;
  /** The failure code, such as `PLB_VERIFY_PAYLOAD_MISMATCH`. */
  readonly code?: PlumblineErrorCode;
}

/**
 * A failed rule, as reported to operators.
 *
 * @public
 */
export interface VerificationReason {
  /** The rule that failed (`header` as well when verification itself threw). */
  readonly rule: LoadRule;
  /** The failure code, such as `PLB_VERIFY_PAYLOAD_MISMATCH`. */
  readonly code: PlumblineErrorCode;
  /** Why the rule failed, in words (no secrets). */
  readonly message: string;
}

/**
 * A summary of the signature check, safe to serve (no key material).
 *
 * @public
 */
export interface SignatureSummary {
  /** The verifier's name, such as `key:ed25519` or `sigstore`. */
  readonly verifier: string;
  /** Whether any signature was found; `false` too when the verifier failed. */
  readonly present: boolean;
  /** Whether a signature was present and valid under the verifier's policy. */
  readonly valid: boolean;
  /** Why it is not valid, or why the verifier failed (no secrets). */
  readonly reason?: string;
  /** Who signed, as far as the verifier can tell; absent when it cannot tell. */
  readonly signer?: {
    readonly key_id?: string;
    readonly identity?: string;
    readonly issuer?: string;
  };
}

/**
 * The overall outcome of a load.
 *
 * - `verified`: every configured rule passed and a header is present.
 * - `unverified`: the policy allowed an artifact without a header (legacy).
 * - `warned`: mode `warn` and at least one rule failed; the artifact was loaded anyway.
 * - `skipped`: mode `off`; nothing was checked.
 *
 * @public
 */
export type VerificationStatus = 'verified' | 'unverified' | 'warned' | 'skipped';

/**
 * What was checked at load time and what came of it.
 *
 * @public
 */
export interface VerificationOutcome {
  /** The policy's mode. */
  readonly mode: LoadMode;
  /** The overall outcome (see {@link VerificationStatus}). */
  readonly status: VerificationStatus;
  /** Every rule in evaluation order. */
  readonly checks: readonly RuleResult[];
  /** The failed rules (empty unless `warned`). */
  readonly reasons: readonly VerificationReason[];
  /** The signature check, when a verifier ran. */
  readonly signature?: SignatureSummary;
}

/**
 * What a data plane really loaded: the record the admin endpoint serves and the drift reporter
 * sends. Keys are snake_case like the wire formats.
 *
 * @public
 */
export interface LoadedArtifact {
  /** The manifest root from the header; `null` for a legacy artifact. */
  readonly artifact_hash: DigestString | null;
  /** SHA-256 of the container with an empty attachments section, when known. */
  readonly artifact_digest: DigestString | null;
  /** SHA-256 of the encoded header, when known. */
  readonly header_digest: DigestString | null;
  /** `container`, `embedded` or `legacy`. */
  readonly kind: LoadCandidate['kind'];
  /** The header's `build_timestamp` (RFC 3339 UTC, whole seconds); `null` without an intact header. */
  readonly build_timestamp: string | null;
  /** The header's `provenance`; `null` without an intact header. */
  readonly provenance: Provenance | null;
  /** The header's `payload` (digest, size, media type); `null` without an intact header. */
  readonly payload: PayloadInfo | null;
  /** The header's input entries (served with `?entries=1`). */
  readonly inputs: readonly ManifestEntry[];
  /** What was checked at load time and what came of it. */
  readonly verification: VerificationOutcome;
  /** RFC 3339 UTC time of the load. */
  readonly loaded_at: string;
  /** The process instance (a UUID per process start). */
  readonly instance_id: string;
}

/**
 * A load that failed, kept for the drift protocol's `last_load_error`.
 *
 * @public
 */
export interface LoadError {
  /** The manifest root named by the refused artifact's header; `null` when it had no readable one. */
  readonly artifact_hash: DigestString | null;
  /** The error code, such as `PLB_LOAD_REJECTED`. */
  readonly code: PlumblineErrorCode;
  /** The error message (no secrets). */
  readonly message: string;
  /** RFC 3339 UTC. */
  readonly at: string;
}
