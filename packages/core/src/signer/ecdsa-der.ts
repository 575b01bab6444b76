/**
 * Conversions between the two ECDSA signature encodings: DER (`SEQUENCE { r INTEGER, s INTEGER }`,
 * what node:crypto, OpenSSL and Sigstore use) and IEEE P1363 (`r || s`, what WebCrypto uses).
 */

function trimInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed[0]! & 0x80) {
    const out = new Uint8Array(trimmed.length + 1);
    out.set(trimmed, 1);
    return out;
  }
  return trimmed;
}

/**
 * Encodes a P1363 signature (`r || s`, each `size` bytes) as DER.
 *
 * @internal
 */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const r = trimInteger(signature.subarray(0, half));
  const s = trimInteger(signature.subarray(half));
  const body = 2 + r.length + 2 + s.length;
  // P-256 integers are at most 33 bytes, so the body fits a short-form length.
  const out = new Uint8Array(2 + body);
  out[0] = 0x30;
  out[1] = body;
  out[2] = 0x02;
  out[3] = r.length;
  out.set(r, 4);
  out[4 + r.length] = 0x02;
  out[5 + r.length] = s.length;
  out.set(s, 6 + r.length);
  return out;
}

function readInteger(
  der: Uint8Array,
  offset: number,
  size: number,
): { value: Uint8Array; next: number } | undefined {
  if (der[offset] !== 0x02) return undefined;
  const length = der[offset + 1];
  if (length === undefined || length === 0 || length > size + 1 || length & 0x80) return undefined;
  const start = offset + 2;
  const end = start + length;
  if (end > der.length) return undefined;
  let value = der.subarray(start, end);
  if (value[0]! & 0x80) return undefined; // negative
  if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) return undefined; // not minimal
  if (value[0] === 0 && value.length > 1) value = value.subarray(1);
  if (value.length > size) return undefined;
  const padded = new Uint8Array(size);
  padded.set(value, size - value.length);
  return { value: padded, next: end };
}

/**
 * Decodes a strict DER ECDSA signature into P1363 (`r || s`, each `size` bytes), or `undefined`
 * when it is not well-formed DER for that size.
 *
 * @internal
 */
export function derToP1363(der: Uint8Array, size: number): Uint8Array | undefined {
  if (der.length < 8 || der[0] !== 0x30) return undefined;
  const body = der[1]!;
  if (body & 0x80 || body + 2 !== der.length) return undefined;
  const r = readInteger(der, 2, size);
  if (!r) return undefined;
  const s = readInteger(der, r.next, size);
  if (!s || s.next !== der.length) return undefined;
  const out = new Uint8Array(size * 2);
  out.set(r.value, 0);
  out.set(s.value, size);
  return out;
}
