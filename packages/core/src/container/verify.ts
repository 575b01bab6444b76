import { PlumblineError, type PlumblineErrorCode } from '../errors.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { createSha256 } from '../hash/select.js';
import { checkHeader } from '../header/check.js';
import type { ProvenanceHeader } from '../header/types.js';
import { diffManifests, type ManifestDiff } from '../manifest/diff.js';
import type { Manifest } from '../manifest/types.js';
import { checkAborted } from './abort.js';
import type { Attachments } from './attachments.js';
import { artifactDigestHasher, readPrefix, type ContainerLimits } from './prefix.js';
import { byteReader, type ArtifactSource } from './reader.js';

/**
 * Options of {@link verifyArtifact}.
 *
 * @public
 */
export interface VerifyArtifactOptions extends ContainerLimits {
  /**
   * A manifest to compare the header's inputs with (for example one recomputed from the input
   * files, or a manifest document). Differences are listed file by file.
   */
  readonly manifest?: Pick<Manifest, 'entries'> & { readonly root?: DigestString };
  /** Stops verification; the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * One reason an artifact failed verification.
 *
 * @public
 */
export interface VerificationProblem {
  /** `PLB_PAYLOAD_MISMATCH`, `PLB_ROOT_MISMATCH`, `PLB_INPUTS_MISMATCH`, `PLB_HEADER_INPUTS_UNSORTED`, … */
  readonly code: PlumblineErrorCode;
  /** What differs. */
  readonly message: string;
}

/**
 * The outcome of {@link verifyArtifact}.
 *
 * - `verified`: payload digest and size match the header, the header is consistent (its
 *   `artifact_hash` is the root of its inputs), and the given manifest, if any, matches;
 * - `mismatch`: something differs (see `problems`, and `differences` for files);
 * - `legacy`: the file has no container magic, so nothing can be verified.
 *
 * @public
 */
export interface ArtifactVerification {
  /** `verified`, `mismatch` or `legacy`, as described above. */
  readonly status: 'verified' | 'mismatch' | 'legacy';
  /** The header (absent for legacy files). */
  readonly header?: ProvenanceHeader;
  /** The header digest (absent for legacy files). */
  readonly headerDigest?: DigestString;
  /** Attachments (absent for legacy files). */
  readonly attachments?: Attachments;
  /**
   * The artifact digest (SHA-256 of the container with an empty attachments section); for a
   * legacy file, the SHA-256 of the whole file.
   */
  readonly artifactDigest: DigestString;
  /** The payload as measured (absent for legacy files). */
  readonly payload?: { readonly digest: DigestString; readonly size: number };
  /** What failed; empty when verified. */
  readonly problems: readonly VerificationProblem[];
  /** File by file, how the given manifest differs from the header's inputs. */
  readonly differences?: ManifestDiff;
}

/**
 * Verifies an artifact container in one pass over its bytes: the payload's digest and size
 * against the header, the header's internal consistency (root recomputed from its inputs), and,
 * with `manifest`, which files were added, removed or changed. The payload and artifact digests
 * are computed in the same pass. Legacy files (no magic) are reported as `legacy`, never thrown.
 * `@plumbline/core/node` adds `inputs` (recompute the manifest from disk) and file paths.
 *
 * @example
 * ```ts
 * import { verifyArtifact } from '@plumbline/core/container';
 * const result = await verifyArtifact(bytes);
 * if (result.status !== 'verified') console.error(result.problems);
 * ```
 * @throws {@link PlumblineError} `PLB_TRUNCATED` (with the offset), `PLB_UNSUPPORTED_VERSION`,
 *   `PLB_LIMIT_*`, `PLB_CBOR_*`, `PLB_HEADER_INVALID`, `PLB_ATTACHMENT_INVALID`, `PLB_ABORTED`.
 * @public
 */
export async function verifyArtifact(
  source: ArtifactSource,
  options: VerifyArtifactOptions = {},
): Promise<ArtifactVerification> {
  const { signal } = options;
  checkAborted(signal);
  const reader = byteReader(source);
  try {
    const probe = await readPrefix(reader, options);
    if (probe.kind === 'legacy') {
      const hasher = createSha256().update(probe.firstBytes);
      for await (const chunk of reader.rest()) {
        checkAborted(signal);
        hasher.update(chunk);
      }
      return {
        status: 'legacy',
        artifactDigest: formatDigest(hasher.digest()),
        problems: [
          { code: 'PLB_LEGACY_ARTIFACT', message: 'no Plumbline container magic: unverified' },
        ],
      };
    }
    const { prefix } = probe;
    const { header } = prefix;
    const payloadHasher = createSha256();
    const artifactHasher = artifactDigestHasher(prefix.headerBytes);
    let size = 0;
    for await (const chunk of reader.rest()) {
      checkAborted(signal);
      size += chunk.length;
      payloadHasher.update(chunk);
      artifactHasher.update(chunk);
    }
    if (size < header.payload.size) {
      throw new PlumblineError(
        'PLB_TRUNCATED',
        `the artifact ends at offset ${prefix.payloadOffset + size} inside the payload (${header.payload.size} bytes expected)`,
        {
          details: {
            offset: prefix.payloadOffset + size,
            expectedEnd: prefix.payloadOffset + header.payload.size,
            section: 'payload',
          },
        },
      );
    }
    const payloadDigest = formatDigest(payloadHasher.digest());
    const problems: VerificationProblem[] = [];
    if (size !== header.payload.size) {
      problems.push({
        code: 'PLB_PAYLOAD_MISMATCH',
        message: `the payload has ${size} bytes, the header says ${header.payload.size}`,
      });
    }
    if (payloadDigest !== header.payload.digest) {
      problems.push({
        code: 'PLB_PAYLOAD_MISMATCH',
        message: `the payload digest is ${payloadDigest}, the header says ${header.payload.digest}`,
      });
    }
    problems.push(...checkHeader(header));
    let differences: ManifestDiff | undefined;
    if (options.manifest !== undefined) {
      differences = diffManifests({ entries: header.inputs }, options.manifest);
      if (options.manifest.root !== undefined && options.manifest.root !== header.artifact_hash) {
        problems.push({
          code: 'PLB_ROOT_MISMATCH',
          message: `the inputs' root is ${options.manifest.root}, the header's artifact_hash is ${header.artifact_hash}`,
        });
      }
      if (!differences.equal) {
        const { added, removed, changed } = differences;
        problems.push({
          code: 'PLB_INPUTS_MISMATCH',
          message: `inputs differ from the header: ${added.length} added, ${removed.length} removed, ${changed.length} changed`,
        });
      }
    }
    return {
      status: problems.length === 0 ? 'verified' : 'mismatch',
      header,
      headerDigest: prefix.headerDigest,
      attachments: prefix.attachments,
      artifactDigest: formatDigest(artifactHasher.digest()),
      payload: { digest: payloadDigest, size },
      problems,
      ...(differences === undefined ? {} : { differences }),
    };
  } finally {
    await reader.close();
  }
}
