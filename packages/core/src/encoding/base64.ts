import { PlumblineError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE: Int16Array = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  // DSSE and Sigstore accept both alphabets when reading (the DSSE spec allows URL-safe base64).
  table['-'.charCodeAt(0)] = 62;
  table['_'.charCodeAt(0)] = 63;
  return table;
})();

interface BufferLike {
  from(
    data: Uint8Array | ArrayBuffer,
    offset?: number,
    length?: number,
  ): { toString(enc: 'base64'): string };
  from(text: string, encoding: 'base64'): Uint8Array;
}

const STANDARD_RE = /^[A-Za-z0-9+/]*$/;
const URL_SAFE_RE = /^[A-Za-z0-9_-]*$/;

function nodeBuffer(): BufferLike | undefined {
  const candidate = (globalThis as { Buffer?: BufferLike }).Buffer;
  return candidate && typeof candidate.from === 'function' ? candidate : undefined;
}

/**
 * Standard base64 (RFC 4648 §4, with padding) of `bytes`. Uses `Buffer` where the runtime has
 * it, a portable loop elsewhere.
 *
 * @example
 * ```ts
 * encodeBase64(new Uint8Array([104, 105])); // 'aGk='
 * ```
 * @public
 */
export function encodeBase64(
  bytes: Uint8Array,
  options: { readonly portable?: boolean } = {},
): string {
  const buffer = options.portable ? undefined : nodeBuffer();
  if (buffer)
    return buffer
      .from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength)
      .toString('base64');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${ALPHABET[n >> 18]!}${ALPHABET[(n >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${ALPHABET[n >> 18]!}${ALPHABET[(n >> 12) & 63]!}${ALPHABET[(n >> 6) & 63]!}=`;
  }
  return out;
}

/**
 * Decodes base64 (standard or URL-safe alphabet, padding optional). Refuses any other character,
 * a length that cannot come from base64, and non-zero bits in the final character, so every byte
 * string has exactly one accepted spelling per alphabet.
 *
 * @example
 * ```ts
 * decodeBase64('aGk='); // Uint8Array [104, 105]
 * ```
 * @throws {@link PlumblineError} `PLB_INVALID_BASE64` for malformed text, or when the decoded
 *   size would exceed `maxBytes`.
 * @public
 */
export function decodeBase64(
  text: string,
  options: { readonly maxBytes?: number; readonly portable?: boolean } = {},
): Uint8Array {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  const padded = text.length !== end;
  if (padded && text.length % 4 !== 0) {
    throw new PlumblineError(
      'PLB_INVALID_BASE64',
      'base64 padding does not fill a 4-character group',
    );
  }
  if (end % 4 === 1) {
    throw new PlumblineError('PLB_INVALID_BASE64', 'base64 text has an impossible length', {
      details: { length: text.length },
    });
  }
  const size = Math.floor((end * 3) / 4);
  const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
  if (size > maxBytes) {
    throw new PlumblineError(
      'PLB_INVALID_BASE64',
      `base64 text decodes to more than ${maxBytes} bytes`,
      {
        details: { size, maxBytes },
      },
    );
  }
  const buffer = options.portable ? undefined : nodeBuffer();
  if (buffer && end > 0) {
    // Fast path: validate the alphabet with one native regex pass, let Buffer decode, then check
    // the final character's unused bits ourselves (Buffer ignores them).
    const body = text.slice(0, end);
    if (STANDARD_RE.test(body) || URL_SAFE_RE.test(body)) {
      const last = DECODE[body.charCodeAt(end - 1)]!;
      const unused = end % 4 === 2 ? 0x0f : end % 4 === 3 ? 0x03 : 0;
      if ((last & unused) !== 0) {
        throw new PlumblineError('PLB_INVALID_BASE64', 'base64 text has non-zero trailing bits');
      }
      const decoded = buffer.from(body, 'base64');
      return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
    }
  }
  const out = new Uint8Array(size);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? DECODE[code]! : -1;
    if (value < 0) {
      throw new PlumblineError(
        'PLB_INVALID_BASE64',
        'base64 text holds a character outside the alphabet',
        {
          details: { offset: i },
        },
      );
    }
    acc = ((acc << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) {
    throw new PlumblineError('PLB_INVALID_BASE64', 'base64 text has non-zero trailing bits');
  }
  return out;
}
