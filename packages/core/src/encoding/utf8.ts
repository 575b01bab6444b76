import { PlumblineError } from '../errors.js';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * UTF-8 bytes of a string.
 *
 * @public
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Length of a string in UTF-8 bytes, without encoding it (a lone surrogate counts as the 3 bytes
 * of the U+FFFD that `TextEncoder` writes for it).
 *
 * @internal
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Strict UTF-8 decoding: invalid sequences are an error, never replaced.
 *
 * @throws {@link PlumblineError} `PLB_INVALID_UTF8`.
 * @public
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new PlumblineError('PLB_INVALID_UTF8', 'bytes are not valid UTF-8', { cause });
  }
}

/**
 * Whether a JavaScript string is well-formed UTF-16 (no lone surrogates), i.e. encodable as UTF-8
 * without replacement.
 *
 * @public
 */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * Compares two strings by their UTF-8 bytes (which equals code point order), the order
 * manifests sort entries in. JavaScript's default string order (UTF-16 code units) differs
 * for characters beyond the Basic Multilingual Plane.
 *
 * @public
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
