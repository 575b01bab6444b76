import { basename, resolve } from 'node:path';
import { PlumblineError } from '../errors.js';
import { buildProvenanceStatement, type ProvenanceStatementOptions } from '../attest/provenance.js';
import type { SlsaProvenance } from '../attest/provenance.js';
import type { Statement } from '../attest/statement.js';
import type { ArtifactDigest, ArtifactHash, HeaderDigest } from '../hash/artifact-digests.js';
import type { ProvenanceHeader } from '../header/types.js';
import { readHeader } from './container-file.js';

/**
 * How the provenance statement of an artifact file is shaped (the `plumbline attest` / `sign`
 * flags). Every field is optional; the defaults come from the artifact's header.
 *
 * @public
 */
export type ArtifactStatementOptions = Pick<
  ProvenanceStatementOptions,
  'subjectName' | 'builderId' | 'invocationId' | 'startedOn' | 'finishedOn'
> & {
  /** Stops reading the file; the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
};

/**
 * An artifact file with its three digests, each under its own name, and its SLSA provenance
 * statement.
 *
 * @public
 */
export interface AttestedArtifactFile {
  /** The artifact file's absolute path. */
  readonly path: string;
  /** The decoded provenance header. */
  readonly header: ProvenanceHeader;
  /** `artifact_hash`: Merkle root of the inputs (names the configuration; see {@link ArtifactHash}). */
  readonly artifactHash: ArtifactHash;
  /** SHA-256 of the container with empty attachments: what signatures name (see {@link ArtifactDigest}). */
  readonly artifactDigest: ArtifactDigest;
  /** SHA-256 of the encoded header alone (see {@link HeaderDigest}). */
  readonly headerDigest: HeaderDigest;
  /** The in-toto statement (SLSA Provenance v1) whose subject is the artifact digest. */
  readonly statement: Statement<SlsaProvenance>;
}

/**
 * Reads an artifact file's header (streaming the rest for the artifact digest) and builds its
 * SLSA provenance statement: the first step of signing, shared by {@link signArtifactFile}, the
 * Sigstore helper and `plumbline attest`/`sign`.
 *
 * @example
 * ```ts
 * import { attestArtifactFile } from '@plumbline/core/node';
 * const { artifactHash, artifactDigest, statement } = await attestArtifactFile('dist/gateway.plb');
 * ```
 * @throws {@link PlumblineError} as `readHeader` (`PLB_LEGACY_ARTIFACT` for a file without a
 *   Plumbline header, `PLB_IO`, `PLB_ABORTED`), and as `buildProvenanceStatement`
 *   (`PLB_BUILDER_ID_NOT_URI`, `PLB_ATTESTATION_MALFORMED`).
 * @public
 */
export async function attestArtifactFile(
  path: string,
  options: ArtifactStatementOptions = {},
): Promise<AttestedArtifactFile> {
  const absolute = resolve(path);
  const signal = options.signal;
  const info = await readHeader(absolute, { artifactDigest: true, ...(signal ? { signal } : {}) });
  if (info.artifactDigest === undefined) {
    throw new PlumblineError('PLB_INTERNAL', 'the artifact digest was not computed');
  }
  const optional = {
    builderId: options.builderId,
    invocationId: options.invocationId,
    startedOn: options.startedOn,
    finishedOn: options.finishedOn,
  };
  const statement = buildProvenanceStatement({
    ...(Object.fromEntries(
      Object.entries(optional).filter(([, value]) => value !== undefined),
    ) as Partial<ProvenanceStatementOptions>),
    header: info.header,
    artifactDigest: info.artifactDigest,
    headerDigest: info.headerDigest,
    subjectName: options.subjectName ?? basename(absolute),
  });
  return {
    path: absolute,
    header: info.header,
    artifactHash: info.header.artifact_hash,
    artifactDigest: info.artifactDigest,
    headerDigest: info.headerDigest,
    statement,
  };
}
