import { PlumblineError } from '../errors.js';
import { readHeader } from '../container/read.js';
import type { ContainerLimits } from '../container/prefix.js';
import { formatDigest } from '../hash/digest.js';
import { sha256 } from '../hash/select.js';
import type { LoadCandidate } from './types.js';

/**
 * Options of {@link candidateFromBytes}.
 *
 * @public
 */
export interface CandidateFromBytesOptions extends ContainerLimits {
  /** A detached signature bundle found next to the artifact (for example `<file>.sigstore.json`). */
  readonly detached?: Uint8Array;
  /** Cancels reading the header and hashing the artifact; the call then rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * Turns the bytes of an artifact into a {@link LoadCandidate} for {@link verifyOnLoad}: a
 * container's header, attachments, artifact digest and payload; a file without the container
 * magic becomes a `legacy` candidate (its artifact digest is the file's SHA-256); a damaged
 * container becomes a candidate whose `headerError` the `header` rule reports. It never throws
 * for bad artifact bytes: the policy decides.
 *
 * @example
 * ```ts
 * import { candidateFromBytes, verifyOnLoad } from '@plumbline/core/verify';
 * const candidate = await candidateFromBytes(bytes);
 * const loaded = await verifyOnLoad(candidate, { mode: 'enforce' });
 * gateway.load(candidate.payload!);
 * ```
 * @throws {@link PlumblineError} `PLB_ABORTED` when `options.signal` is aborted.
 * @public
 */
export async function candidateFromBytes(
  bytes: Uint8Array,
  options: CandidateFromBytesOptions = {},
): Promise<LoadCandidate> {
  const detached = options.detached === undefined ? {} : { detached: options.detached };
  try {
    const info = await readHeader(bytes, { ...options, artifactDigest: true });
    return {
      kind: 'container',
      header: info.header,
      headerBytes: info.headerBytes,
      ...(info.artifactDigest === undefined ? {} : { artifactDigest: info.artifactDigest }),
      attachments: info.attachments,
      payload: bytes.subarray(info.payloadOffset),
      ...detached,
    };
  } catch (error) {
    if (PlumblineError.is(error, 'PLB_ABORTED')) throw error;
    if (PlumblineError.is(error, 'PLB_LEGACY_ARTIFACT')) {
      return {
        kind: 'legacy',
        artifactDigest: formatDigest(sha256(bytes)),
        payload: bytes,
        ...detached,
      };
    }
    return { kind: 'container', headerError: error, ...detached };
  }
}
