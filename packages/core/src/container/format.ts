/**
 * The container magic (treat as read-only): `89 50 4C 42 0D 0A 1A 0A` (a high byte, "PLB", CR LF, Ctrl-Z, LF, as in
 * PNG, so text-mode transfers and truncation to 7 bits are detected).
 *
 * @public
 */
export const CONTAINER_MAGIC: Uint8Array = new Uint8Array([
  0x89, 0x50, 0x4c, 0x42, 0x0d, 0x0a, 0x1a, 0x0a,
]);

/** The container version this library writes and reads. @public */
export const CONTAINER_VERSION = 1;

/**
 * The encoding of an empty attachments map (`a0`). Treat as read-only (typed arrays cannot be frozen).
 *
 * @public
 */
export const EMPTY_ATTACHMENTS: Uint8Array = new Uint8Array([0xa0]);

/** Offset of the header in a container (after magic, version and header length). @public */
export const HEADER_OFFSET = 14;

/**
 * The fixed bytes of a container prefix: magic (8), version (2), header length (4) and attachments
 * length (4); the prefix is these plus the header and the attachments.
 *
 * @internal
 */
export const PREFIX_FIXED_BYTES = HEADER_OFFSET + 4;

/**
 * The container prefix: magic, version (u16 BE), header length (u32 BE), header, attachments
 * length (u32 BE), attachments. The payload follows it.
 *
 * @example
 * ```ts
 * const prefix = encodePrefix(encodeHeader(header), EMPTY_ATTACHMENTS);
 * ```
 * @public
 */
export function encodePrefix(headerBytes: Uint8Array, attachmentsBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefixLength(headerBytes.length, attachmentsBytes.length));
  const view = new DataView(out.buffer);
  out.set(CONTAINER_MAGIC, 0);
  view.setUint16(8, CONTAINER_VERSION);
  view.setUint32(10, headerBytes.length);
  out.set(headerBytes, HEADER_OFFSET);
  view.setUint32(HEADER_OFFSET + headerBytes.length, attachmentsBytes.length);
  out.set(attachmentsBytes, PREFIX_FIXED_BYTES + headerBytes.length);
  return out;
}

/** Length of the prefix for the given header and attachments lengths. @public */
export function prefixLength(headerLength: number, attachmentsLength: number): number {
  return PREFIX_FIXED_BYTES + headerLength + attachmentsLength;
}
