import { PlumblineError } from '../errors.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { createSha256 } from '../hash/select.js';
import type { Sha256Hasher } from '../hash/backend.js';
import {
  decodeHeader,
  DEFAULT_HEADER_LIMITS,
  headerDigest,
  type HeaderLimits,
} from '../header/codec.js';
import type { ProvenanceHeader } from '../header/types.js';
import {
  decodeAttachments,
  DEFAULT_ATTACHMENT_LIMITS,
  type AttachmentLimits,
  type Attachments,
} from './attachments.js';
import { CONTAINER_MAGIC, CONTAINER_VERSION, encodePrefix, HEADER_OFFSET } from './format.js';
import { readExactly, type ByteReader } from './reader.js';

/**
 * Limits applied while reading a container prefix (all checked before allocating).
 *
 * @public
 */
export interface ContainerLimits extends HeaderLimits, AttachmentLimits {}

/**
 * What the prefix of a container holds.
 *
 * @public
 */
export interface ArtifactPrefix {
  /** The container version (1). */
  readonly containerVersion: number;
  /** The decoded header (unknown fields of v1 kept). */
  readonly header: ProvenanceHeader;
  /** The exact header bytes as stored (deterministic CBOR). */
  readonly headerBytes: Uint8Array;
  /** `sha256:` of {@link ArtifactPrefix.headerBytes}. */
  readonly headerDigest: DigestString;
  /** The attachments (signatures, bundles), not covered by the header. */
  readonly attachments: Attachments;
  /** The exact attachments bytes as stored. */
  readonly attachmentsBytes: Uint8Array;
  /** Offset of the header (14). */
  readonly headerOffset: number;
  /** Offset of the first payload byte. */
  readonly payloadOffset: number;
}

/** Result of probing a source's first bytes. @internal */
export type PrefixProbe =
  | { readonly kind: 'container'; readonly prefix: ArtifactPrefix }
  | { readonly kind: 'legacy'; readonly firstBytes: Uint8Array };

function u32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

/**
 * Reads the container prefix from a reader positioned at 0: magic (or a legacy file), version,
 * header, attachments. Lengths are checked against the limits before anything is allocated.
 *
 * @throws {@link PlumblineError} `PLB_TRUNCATED`, `PLB_UNSUPPORTED_VERSION`, `PLB_LIMIT_BYTES`, header
 *   and attachments decoding errors.
 * @internal
 */
export async function readPrefix(
  reader: ByteReader,
  limits: ContainerLimits = {},
): Promise<PrefixProbe> {
  const magic = await reader.read(8);
  let matches = 0;
  while (matches < magic.length && magic[matches] === CONTAINER_MAGIC[matches]) matches++;
  if (matches < magic.length || magic.length === 0) return { kind: 'legacy', firstBytes: magic };
  if (magic.length < 8) {
    throw new PlumblineError(
      'PLB_TRUNCATED',
      `the artifact ends at offset ${magic.length} inside the container magic`,
      { details: { offset: magic.length, expectedEnd: 8, section: 'magic' } },
    );
  }
  const versionBytes = await readExactly(reader, 2, 'container version');
  const version = (versionBytes[0]! << 8) | versionBytes[1]!;
  if (version !== CONTAINER_VERSION) {
    throw new PlumblineError(
      'PLB_UNSUPPORTED_VERSION',
      `container version ${version} is not supported; this version reads container version ${CONTAINER_VERSION}`,
      { details: { version, offset: 8 } },
    );
  }
  const headerLength = u32(await readExactly(reader, 4, 'header length'));
  const maxHeader = Math.min(
    limits.maxHeaderBytes ?? DEFAULT_HEADER_LIMITS.maxHeaderBytes,
    limits.maxBytes ?? Number.POSITIVE_INFINITY,
  );
  if (headerLength > maxHeader) {
    throw new PlumblineError(
      'PLB_LIMIT_BYTES',
      `the header claims ${headerLength} bytes, more than the limit of ${maxHeader}`,
      { details: { offset: 10, size: headerLength, limit: maxHeader } },
    );
  }
  const headerBytes = (await readExactly(reader, headerLength, 'header')).slice();
  const header = decodeHeader(headerBytes, { ...limits, baseOffset: HEADER_OFFSET });
  const attachmentsLengthOffset = HEADER_OFFSET + headerLength;
  const attachmentsLength = u32(await readExactly(reader, 4, 'attachments length'));
  const maxAttachments =
    limits.maxAttachmentsBytes ?? DEFAULT_ATTACHMENT_LIMITS.maxAttachmentsBytes;
  if (attachmentsLength > maxAttachments) {
    throw new PlumblineError(
      'PLB_LIMIT_BYTES',
      `the attachments claim ${attachmentsLength} bytes, more than the limit of ${maxAttachments}`,
      {
        details: {
          offset: attachmentsLengthOffset,
          size: attachmentsLength,
          limit: maxAttachments,
        },
      },
    );
  }
  const attachmentsBytes = (await readExactly(reader, attachmentsLength, 'attachments')).slice();
  const attachments = decodeAttachments(attachmentsBytes, {
    ...limits,
    baseOffset: attachmentsLengthOffset + 4,
  });
  return {
    kind: 'container',
    prefix: {
      containerVersion: version,
      header,
      headerBytes,
      headerDigest: headerDigest(headerBytes),
      attachments,
      attachmentsBytes,
      headerOffset: HEADER_OFFSET,
      payloadOffset: attachmentsLengthOffset + 4 + attachmentsLength,
    },
  };
}

/**
 * A SHA-256 hasher already fed with the prefix of the container as it is with an EMPTY
 * attachments section; feeding it the payload gives the artifact digest.
 *
 * @internal
 */
export function artifactDigestHasher(headerBytes: Uint8Array): Sha256Hasher {
  return createSha256().update(encodePrefix(headerBytes, new Uint8Array([0xa0])));
}

/**
 * The artifact digest from the header bytes and the payload bytes (in memory): SHA-256 of the
 * container with an empty attachments section.
 *
 * @example
 * ```ts
 * const digest = artifactDigestOf(encodeHeader(header), payloadBytes);
 * ```
 * @public
 */
export function artifactDigestOf(headerBytes: Uint8Array, payload: Uint8Array): DigestString {
  return formatDigest(artifactDigestHasher(headerBytes).update(payload).digest());
}
