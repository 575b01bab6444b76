import { PlumblineError } from '../errors.js';

const HEX = '0123456789abcdef';
const LOOKUP: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => HEX[i >> 4]! + HEX[i & 15]!,
);

/**
 * Lowercase hexadecimal encoding of bytes.
 *
 * @example
 * ```ts
 * toHex(new Uint8Array([0, 255])); // '00ff'
 * ```
 * @public
 */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += LOOKUP[bytes[i]!]!;
  return out;
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Decodes lowercase hexadecimal. Uppercase and odd lengths are refused, so every value has one spelling.
 *
 * @throws {@link PlumblineError} `PLB_INVALID_HEX` when the text is not lowercase hex of even length.
 * @public
 */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) {
    throw new PlumblineError('PLB_INVALID_HEX', 'hex text has an odd length', {
      details: { length: text.length },
    });
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(text.charCodeAt(2 * i));
    const lo = nibble(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new PlumblineError('PLB_INVALID_HEX', 'hex text has a character outside [0-9a-f]', {
        details: { offset: 2 * i },
      });
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * Constant-time comparison of two byte arrays (time depends only on the length).
 *
 * @public
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Constant-time comparison of two strings (time depends only on their lengths).
 *
 * @internal
 */
export function textEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Concatenates byte arrays.
 *
 * @public
 */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
