import { PlumblineError } from '../errors.js';
import type { ResolvedCborLimits } from './limits.js';

/** What {@link scanCbor} noticed on the way. @internal */
export interface ScanResult {
  /** Whether some map has the key `__proto__` (decoded with care). */
  readonly protoKey: boolean;
  /** An upper estimate of the memory the decoded value takes, in bytes (see {@link decodedCost}). */
  readonly decodedBytes: number;
}

/**
 * What decoded items cost in a JavaScript heap (64-bit V8 without pointer compression, rounded up):
 * the estimate {@link scanCbor} adds up before anything is built.
 *
 * @internal
 */
export const decodedCost = Object.freeze({
  /** An array: header plus one 8-byte slot per item. */
  array: (n: number): number => 32 + 8 * n,
  /** An object: header plus a dictionary entry (key, value, details) per pair. */
  map: (n: number): number => 56 + 24 * n,
  /** A text string of n UTF-8 bytes: header plus up to two bytes per character. */
  text: (n: number, ascii: boolean): number => 24 + (ascii ? n : 2 * n),
  /** A byte string: a Uint8Array with its own ArrayBuffer. */
  bytes: (n: number): number => 160 + n,
  /** An integer beyond 31 bits is a heap number. */
  bigInteger: 16,
});

// "__proto__" as a CBOR text string.
const PROTO_KEY = [0x69, 0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];

/** Options of {@link scanCbor}. @internal */
export interface ScanOptions {
  /** Whether byte strings (major type 2) are allowed. */
  readonly allowBytes: boolean;
  /** Added to every offset in errors (where the document starts in a larger file). */
  readonly baseOffset?: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TWO_32 = 0x1_0000_0000;

/**
 * Walks a CBOR document without building it and refuses anything that is not deterministic
 * Plumbline CBOR (RFC 8949 §4.2.1): non-shortest heads, indefinite lengths, tags, floats, simple
 * values other than false/true/null, non-text map keys, keys out of order or repeated, integers
 * outside the safe range, invalid UTF-8, trailing bytes. Every claimed length is checked against
 * the limits and the bytes that remain before the walk goes on, so hostile lengths cost nothing.
 *
 * @throws {@link PlumblineError} `PLB_TRUNCATED`, `PLB_CBOR_MALFORMED`, `PLB_CBOR_NONCANONICAL`,
 *   `PLB_CBOR_DUPLICATE_KEY`, `PLB_CBOR_FLOAT`, `PLB_CBOR_TAG`, `PLB_CBOR_INDEFINITE`,
 *   `PLB_CBOR_UNSUPPORTED`, `PLB_LIMIT_BYTES`, `PLB_LIMIT_ENTRIES`, `PLB_LIMIT_STRING`, `PLB_LIMIT_DEPTH`.
 * @internal
 */
export function scanCbor(
  bytes: Uint8Array,
  limits: ResolvedCborLimits,
  options: ScanOptions,
): ScanResult {
  const base = options.baseOffset ?? 0;
  if (bytes.length > limits.maxBytes) {
    throw new PlumblineError(
      'PLB_LIMIT_BYTES',
      `CBOR document of ${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`,
      { details: { size: bytes.length, limit: limits.maxBytes } },
    );
  }
  let pos = 0;
  let items = 0;
  let protoKey = false;
  let cost = 0;

  const fail = (code: `PLB_${string}`, message: string, at: number, extra = {}): never => {
    throw new PlumblineError(code, `${message} at offset ${base + at}`, {
      details: { offset: base + at, ...extra },
    });
  };
  const need = (n: number, at: number): void => {
    if (pos + n > bytes.length) {
      fail('PLB_TRUNCATED', `CBOR needs ${n} more byte(s) but the input ends`, at, {
        needed: n,
        available: bytes.length - pos,
      });
    }
  };

  // Reads a head; returns [major, additional info, argument].
  const head = (): [number, number, number] => {
    const start = pos;
    need(1, start);
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (ai < 24) return [major, ai, ai];
    if (ai === 24) {
      need(1, pos);
      const v = bytes[pos++]!;
      if (major !== 7 && v < 24) fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      return [major, ai, v];
    }
    if (ai === 25) {
      if (major === 7) fail('PLB_CBOR_FLOAT', 'floating-point numbers are not allowed', start);
      need(2, pos);
      const v = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
      if (v < 0x100) fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      return [major, ai, v];
    }
    if (ai === 26) {
      if (major === 7) fail('PLB_CBOR_FLOAT', 'floating-point numbers are not allowed', start);
      need(4, pos);
      const v =
        bytes[pos]! * 0x100_0000 +
        ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
      pos += 4;
      if (v < 0x1_0000) fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      return [major, ai, v];
    }
    if (ai === 27) {
      if (major === 7) fail('PLB_CBOR_FLOAT', 'floating-point numbers are not allowed', start);
      need(8, pos);
      const hi =
        bytes[pos]! * 0x100_0000 +
        ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
      const lo =
        bytes[pos + 4]! * 0x100_0000 +
        ((bytes[pos + 5]! << 16) | (bytes[pos + 6]! << 8) | bytes[pos + 7]!);
      pos += 8;
      if (hi === 0) fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      // Beyond 2^53 - 1 the value is not exact in JavaScript: report it as out of range.
      const v = hi > 0x1f_ffff ? Number.POSITIVE_INFINITY : hi * TWO_32 + lo;
      return [major, ai, v];
    }
    if (ai === 31) {
      if (major === 7)
        fail('PLB_CBOR_MALFORMED', 'a CBOR "break" outside an indefinite item', start);
      if (major >= 2 && major <= 5) {
        fail('PLB_CBOR_INDEFINITE', 'indefinite-length CBOR items are not allowed', start);
      }
    }
    return fail('PLB_CBOR_MALFORMED', `reserved CBOR additional information ${ai}`, start);
  };

  const checkString = (length: number, at: number): void => {
    if (length > limits.maxStringLength) {
      fail(
        'PLB_LIMIT_STRING',
        `a string of ${length} bytes exceeds the limit of ${limits.maxStringLength}`,
        at,
        {
          size: length,
          limit: limits.maxStringLength,
        },
      );
    }
    need(length, at);
  };

  const item = (depth: number): void => {
    const start = pos;
    if (++items > limits.maxItems) {
      fail('PLB_LIMIT_ENTRIES', `more than ${limits.maxItems} CBOR items`, start, {
        limit: limits.maxItems,
      });
    }
    const [major, ai, arg] = head();
    switch (major) {
      case 0:
        if (arg > Number.MAX_SAFE_INTEGER) {
          fail('PLB_CBOR_UNSUPPORTED', 'an integer beyond 2^53 - 1', start);
        }
        if (arg > 0x3fff_ffff) cost += decodedCost.bigInteger;
        return;
      case 1:
        if (arg > Number.MAX_SAFE_INTEGER - 1) {
          fail('PLB_CBOR_UNSUPPORTED', 'an integer below -(2^53 - 1)', start);
        }
        if (arg > 0x3fff_ffff) cost += decodedCost.bigInteger;
        return;
      case 2:
        if (!options.allowBytes)
          fail('PLB_CBOR_UNSUPPORTED', 'byte strings are not allowed here', start);
        checkString(arg, start);
        cost += decodedCost.bytes(arg);
        pos += arg;
        return;
      case 3: {
        checkString(arg, start);
        const ascii = isAscii(bytes, pos, pos + arg);
        if (!ascii) {
          try {
            strictUtf8.decode(bytes.subarray(pos, pos + arg));
          } catch {
            fail('PLB_CBOR_MALFORMED', 'a text string that is not valid UTF-8', start);
          }
        }
        cost += decodedCost.text(arg, ascii);
        pos += arg;
        return;
      }
      case 4:
      case 5: {
        if (depth >= limits.maxDepth) {
          fail('PLB_LIMIT_DEPTH', `CBOR nesting deeper than ${limits.maxDepth}`, start, {
            limit: limits.maxDepth,
          });
        }
        if (arg > limits.maxEntries) {
          fail(
            'PLB_LIMIT_ENTRIES',
            `a CBOR ${major === 4 ? 'array' : 'map'} of ${arg} entries exceeds the limit of ${limits.maxEntries}`,
            start,
            {
              size: arg,
              limit: limits.maxEntries,
            },
          );
        }
        // Every item takes at least one byte: a count beyond what remains is a truncation.
        need(major === 4 ? arg : arg * 2, pos);
        cost += major === 4 ? decodedCost.array(arg) : decodedCost.map(arg);
        if (major === 4) {
          for (let i = 0; i < arg; i++) item(depth + 1);
          return;
        }
        let prevStart = -1;
        let prevEnd = -1;
        for (let i = 0; i < arg; i++) {
          const keyStart = pos;
          if (bytes[pos]! >> 5 !== 3)
            fail('PLB_CBOR_UNSUPPORTED', 'a map key that is not a text string', keyStart);
          item(depth + 1);
          const keyEnd = pos;
          if (
            keyEnd - keyStart === PROTO_KEY.length &&
            PROTO_KEY.every((b, j) => bytes[keyStart + j] === b)
          ) {
            protoKey = true;
          }
          if (prevStart >= 0) {
            const order = compareRanges(bytes, prevStart, prevEnd, keyStart, keyEnd);
            if (order === 0) fail('PLB_CBOR_DUPLICATE_KEY', 'a map key given twice', keyStart);
            if (order > 0)
              fail('PLB_CBOR_NONCANONICAL', 'map keys not sorted by their encoded bytes', keyStart);
          }
          prevStart = keyStart;
          prevEnd = keyEnd;
          item(depth + 1);
        }
        return;
      }
      case 6:
        return fail('PLB_CBOR_TAG', 'CBOR tags are not allowed', start);
      default:
        // major 7 with a direct or one-byte simple value
        if (ai === 20 || ai === 21 || ai === 22) return;
        return fail('PLB_CBOR_UNSUPPORTED', `the CBOR simple value ${arg} is not allowed`, start);
    }
  };

  if (bytes.length === 0)
    fail('PLB_TRUNCATED', 'an empty CBOR document', 0, { needed: 1, available: 0 });
  item(0);
  if (pos !== bytes.length)
    fail(
      'PLB_CBOR_MALFORMED',
      `${bytes.length - pos} trailing byte(s) after the CBOR document`,
      pos,
    );
  return { protoKey, decodedBytes: cost };
}

function isAscii(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function compareRanges(b: Uint8Array, a0: number, a1: number, c0: number, c1: number): number {
  const n = Math.min(a1 - a0, c1 - c0);
  for (let i = 0; i < n; i++) {
    const d = b[a0 + i]! - b[c0 + i]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (c1 - c0);
}
