import { PlumblineError } from '../errors.js';
import type { ArtifactDigest, ArtifactHash, HeaderDigest } from '../hash/artifact-digests.js';
import type { LoadCandidate, LoadedArtifact, LoadPolicy } from './types.js';
import { verifyOnLoad, type VerifyOnLoadOptions } from './verify-on-load.js';

/**
 * What {@link loadVerified} returns: the payload to serve, handed out only after the policy let
 * the load go ahead, with what was loaded and its digests under their own names.
 *
 * @public
 */
export interface VerifiedLoad {
  /** The payload bytes to serve (the compiled configuration; the whole file for a legacy artifact). */
  readonly payload: Uint8Array;
  /** What was loaded and how it was verified, as recorded in the registry. */
  readonly artifact: LoadedArtifact;
  /** `artifact_hash`: Merkle root of the inputs; `null` for a legacy artifact. */
  readonly artifactHash: ArtifactHash | null;
  /** SHA-256 of the container with empty attachments (what signatures name), when known. */
  readonly artifactDigest: ArtifactDigest | null;
  /** SHA-256 of the encoded header, when known. */
  readonly headerDigest: HeaderDigest | null;
}

/**
 * Verifies a load candidate with {@link verifyOnLoad} and returns its payload only then: one call
 * instead of checking the candidate and reaching for `candidate.payload` yourself. Under
 * `enforce`, a failed rule throws and no payload is handed out; under `warn`, the payload is
 * returned and `artifact.verification.status` says what failed.
 *
 * @example
 * ```ts
 * import { candidateFromBytes, loadVerified } from '@plumbline/core/verify';
 * const { payload, artifactHash } = await loadVerified(await candidateFromBytes(bytes), {
 *   mode: 'enforce',
 * });
 * gateway.load(payload);
 * ```
 * @throws {@link PlumblineError} as {@link verifyOnLoad} (`PLB_LOAD_REJECTED` under `enforce`),
 *   and `PLB_PAYLOAD_UNAVAILABLE` when the candidate holds no payload bytes (a damaged container
 *   loaded under `warn` or `off`, or a candidate that only streams its payload).
 * @public
 */
export async function loadVerified(
  candidate: LoadCandidate,
  policy: LoadPolicy,
  options: VerifyOnLoadOptions = {},
): Promise<VerifiedLoad> {
  const artifact = await verifyOnLoad(candidate, policy, options);
  if (candidate.payload === undefined) {
    throw new PlumblineError(
      'PLB_PAYLOAD_UNAVAILABLE',
      'the artifact has no payload bytes to hand out (damaged container or streamed payload)',
      { details: { artifact_hash: artifact.artifact_hash } },
    );
  }
  return {
    payload: candidate.payload,
    artifact,
    artifactHash: artifact.artifact_hash,
    artifactDigest: artifact.artifact_digest,
    headerDigest: artifact.header_digest,
  };
}
