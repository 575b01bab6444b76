import { createHash } from 'node:crypto';

function parseUuid(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The RFC 9562 URL namespace. @internal */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/**
 * A name-based UUID (version 5, SHA-1) per RFC 9562 §5.5.
 *
 * @example
 * ```ts
 * uuidV5('https://plumbline.dev/ns/cyclonedx', URL_NAMESPACE);
 * ```
 * @internal
 */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(parseUuid(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/**
 * The namespace of Plumbline's BOM serial numbers: UUIDv5 of `https://plumbline.dev/ns/cyclonedx`
 * in the URL namespace.
 *
 * @public
 */
export const PLUMBLINE_BOM_NAMESPACE = uuidV5('https://plumbline.dev/ns/cyclonedx', URL_NAMESPACE);

/**
 * The BOM serial number for an artifact: `urn:uuid:` + UUIDv5 of the artifact hash in
 * {@link PLUMBLINE_BOM_NAMESPACE}. The same artifact always gets the same serial number.
 *
 * @example
 * ```ts
 * bomSerialNumber(header.artifact_hash); // 'urn:uuid:…'
 * ```
 * @public
 */
export function bomSerialNumber(artifactHash: string): string {
  return `urn:uuid:${uuidV5(artifactHash, PLUMBLINE_BOM_NAMESPACE)}`;
}
