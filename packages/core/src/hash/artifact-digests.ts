import type { DigestString } from './digest.js';

/**
 * `artifact_hash`: the Merkle root over the sorted manifest of **inputs** (the configuration the
 * artifact was built from). It names the configuration, not the file: two builds of the same
 * inputs share it, whatever their payload. The drift protocol compares it across a fleet.
 *
 * @example
 * ```ts
 * import type { ArtifactHash } from '@plumbline/core/hash';
 * const desired: ArtifactHash = header.artifact_hash;
 * ```
 * @public
 */
export type ArtifactHash = DigestString;

/**
 * The artifact digest: SHA-256 of the whole **container with an empty attachments section**
 * (magic, version, header, payload). Signatures and in-toto subjects name it, so attaching a
 * signature afterwards does not change it.
 *
 * @example
 * ```ts
 * import type { ArtifactDigest } from '@plumbline/core/hash';
 * import { readHeader } from '@plumbline/core/node';
 * const { artifactDigest } = await readHeader('gateway.plb', { artifactDigest: true });
 * const signedName: ArtifactDigest | undefined = artifactDigest;
 * ```
 * @public
 */
export type ArtifactDigest = DigestString;

/**
 * The header digest: SHA-256 of the encoded (deterministic CBOR) **header** alone. It changes with
 * any header field, and is recorded as an annotation of signed statements so a verifier can say
 * that the header, rather than the payload, was changed.
 *
 * @example
 * ```ts
 * import type { HeaderDigest } from '@plumbline/core/hash';
 * import { readHeader } from '@plumbline/core/node';
 * const { headerDigest } = await readHeader('gateway.plb');
 * const pinned: HeaderDigest = headerDigest;
 * ```
 * @public
 */
export type HeaderDigest = DigestString;
