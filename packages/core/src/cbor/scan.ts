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
  if (bytes.length > limits.maxBytes) {
    throw new PlumblineError(
      'PLB_LIMIT_BYTES',
      `CBOR document of ${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`,
      { details: { size: bytes.length, limit: limits.maxBytes } },
    );
  }
  return new CborScanner(bytes, limits, options).document();
}

/** The walk of {@link scanCbor}: a cursor over the bytes and what it has counted so far. */
class CborScanner {
  private pos = 0;
  private items = 0;
  private protoKey = false;
  private cost = 0;
  private readonly base: number;
  private readonly allowBytes: boolean;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: ResolvedCborLimits,
    options: ScanOptions,
  ) {
    this.base = options.baseOffset ?? 0;
    this.allowBytes = options.allowBytes;
  }

  /** One item filling the whole input. */
  document(): ScanResult {
    const bytes = this.bytes;
    if (bytes.length === 0)
      this.fail('PLB_TRUNCATED', 'an empty CBOR document', 0, { needed: 1, available: 0 });
    this.item(0);
    if (this.pos !== bytes.length)
      this.fail(
        'PLB_CBOR_MALFORMED',
        `${bytes.length - this.pos} trailing byte(s) after the CBOR document`,
        this.pos,
      );
    return { protoKey: this.protoKey, decodedBytes: this.cost };
  }

  private fail(code: `PLB_${string}`, message: string, at: number, extra = {}): never {
    throw new PlumblineError(code, `${message} at offset ${this.base + at}`, {
      details: { offset: this.base + at, ...extra },
    });
  }

  private need(n: number, at: number): void {
    if (this.pos + n > this.bytes.length) {
      this.fail('PLB_TRUNCATED', `CBOR needs ${n} more byte(s) but the input ends`, at, {
        needed: n,
        available: this.bytes.length - this.pos,
      });
    }
  }

  /**
   * Reads a head and returns its argument (major type and additional information are the bits of
   * its first byte). No tuple: a scan of millions of items allocates nothing per item.
   */
  private head(): number {
    const start = this.pos;
    this.need(1, start);
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (ai < 24) return ai;
    if (ai === 24) {
      this.need(1, this.pos);
      const v = this.bytes[this.pos++]!;
      if (major !== 7 && v < 24)
        this.fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      return v;
    }
    if (ai <= 27) {
      if (major === 7) this.fail('PLB_CBOR_FLOAT', 'floating-point numbers are not allowed', start);
      return this.longArgument(ai, start);
    }
    if (ai === 31) {
      if (major === 7)
        this.fail('PLB_CBOR_MALFORMED', 'a CBOR "break" outside an indefinite item', start);
      if (major >= 2 && major <= 5) {
        this.fail('PLB_CBOR_INDEFINITE', 'indefinite-length CBOR items are not allowed', start);
      }
    }
    return this.fail('PLB_CBOR_MALFORMED', `reserved CBOR additional information ${ai}`, start);
  }

  /** The 2-, 4- or 8-byte argument of a head (`ai` 25, 26, 27), in its shortest form. */
  private longArgument(ai: number, start: number): number {
    const bytes = this.bytes;
    const pos = this.pos;
    if (ai === 25) {
      this.need(2, pos);
      const v = (bytes[pos]! << 8) | bytes[pos + 1]!;
      this.pos += 2;
      if (v < 0x100) this.fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      return v;
    }
    if (ai === 26) {
      this.need(4, pos);
      const v =
        bytes[pos]! * 0x100_0000 +
        ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
      this.pos += 4;
      if (v < 0x1_0000) this.fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
      return v;
    }
    this.need(8, pos);
    const hi =
      bytes[pos]! * 0x100_0000 +
      ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
    const lo =
      bytes[pos + 4]! * 0x100_0000 +
      ((bytes[pos + 5]! << 16) | (bytes[pos + 6]! << 8) | bytes[pos + 7]!);
    this.pos += 8;
    if (hi === 0) this.fail('PLB_CBOR_NONCANONICAL', 'non-shortest CBOR head', start);
    // Beyond 2^53 - 1 the value is not exact in JavaScript: report it as out of range.
    return hi > 0x1f_ffff ? Number.POSITIVE_INFINITY : hi * TWO_32 + lo;
  }

  private checkString(length: number, at: number): void {
    const max = this.limits.maxStringLength;
    if (length > max) {
      this.fail('PLB_LIMIT_STRING', `a string of ${length} bytes exceeds the limit of ${max}`, at, {
        size: length,
        limit: max,
      });
    }
    this.need(length, at);
  }

  private item(depth: number): void {
    const start = this.pos;
    if (++this.items > this.limits.maxItems) {
      this.fail('PLB_LIMIT_ENTRIES', `more than ${this.limits.maxItems} CBOR items`, start, {
        limit: this.limits.maxItems,
      });
    }
    const arg = this.head();
    const initial = this.bytes[start]!;
    const major = initial >> 5;
    const ai = initial & 0x1f;
    switch (major) {
      case 0:
        if (arg > Number.MAX_SAFE_INTEGER) {
          this.fail('PLB_CBOR_UNSUPPORTED', 'an integer beyond 2^53 - 1', start);
        }
        if (arg > 0x3fff_ffff) this.cost += decodedCost.bigInteger;
        return;
      case 1:
        if (arg > Number.MAX_SAFE_INTEGER - 1) {
          this.fail('PLB_CBOR_UNSUPPORTED', 'an integer below -(2^53 - 1)', start);
        }
        if (arg > 0x3fff_ffff) this.cost += decodedCost.bigInteger;
        return;
      case 2:
        if (!this.allowBytes)
          this.fail('PLB_CBOR_UNSUPPORTED', 'byte strings are not allowed here', start);
        this.checkString(arg, start);
        this.cost += decodedCost.bytes(arg);
        this.pos += arg;
        return;
      case 3:
        return this.text(arg, start);
      case 4:
        this.container(major, arg, depth, start);
        for (let i = 0; i < arg; i++) this.item(depth + 1);
        return;
      case 5:
        this.container(major, arg, depth, start);
        return this.mapEntries(arg, depth);
      case 6:
        return this.fail('PLB_CBOR_TAG', 'CBOR tags are not allowed', start);
      default:
        // major 7 with a direct or one-byte simple value
        if (ai === 20 || ai === 21 || ai === 22) return;
        return this.fail(
          'PLB_CBOR_UNSUPPORTED',
          `the CBOR simple value ${arg} is not allowed`,
          start,
        );
    }
  }

  private text(length: number, start: number): void {
    this.checkString(length, start);
    const pos = this.pos;
    const ascii = isAscii(this.bytes, pos, pos + length);
    if (!ascii) {
      try {
        strictUtf8.decode(this.bytes.subarray(pos, pos + length));
      } catch {
        this.fail('PLB_CBOR_MALFORMED', 'a text string that is not valid UTF-8', start);
      }
    }
    this.cost += decodedCost.text(length, ascii);
    this.pos += length;
  }

  /** Checks an array's or map's depth and entry count against the limits and what remains. */
  private container(major: number, entries: number, depth: number, start: number): void {
    const limits = this.limits;
    if (depth >= limits.maxDepth) {
      this.fail('PLB_LIMIT_DEPTH', `CBOR nesting deeper than ${limits.maxDepth}`, start, {
        limit: limits.maxDepth,
      });
    }
    if (entries > limits.maxEntries) {
      this.fail(
        'PLB_LIMIT_ENTRIES',
        `a CBOR ${major === 4 ? 'array' : 'map'} of ${entries} entries exceeds the limit of ${limits.maxEntries}`,
        start,
        { size: entries, limit: limits.maxEntries },
      );
    }
    // Every item takes at least one byte: a count beyond what remains is a truncation.
    this.need(major === 4 ? entries : entries * 2, this.pos);
    this.cost += major === 4 ? decodedCost.array(entries) : decodedCost.map(entries);
  }

  /** A map's pairs: text keys, strictly ascending by their encoded bytes. */
  private mapEntries(entries: number, depth: number): void {
    const bytes = this.bytes;
    let prevStart = -1;
    let prevEnd = -1;
    for (let i = 0; i < entries; i++) {
      const keyStart = this.pos;
      if (bytes[keyStart]! >> 5 !== 3)
        this.fail('PLB_CBOR_UNSUPPORTED', 'a map key that is not a text string', keyStart);
      this.item(depth + 1);
      const keyEnd = this.pos;
      if (
        keyEnd - keyStart === PROTO_KEY.length &&
        PROTO_KEY.every((b, j) => bytes[keyStart + j] === b)
      ) {
        this.protoKey = true;
      }
      if (prevStart >= 0) {
        const order = compareRanges(bytes, prevStart, prevEnd, keyStart, keyEnd);
        if (order === 0) this.fail('PLB_CBOR_DUPLICATE_KEY', 'a map key given twice', keyStart);
        if (order > 0)
          this.fail(
            'PLB_CBOR_NONCANONICAL',
            'map keys not sorted by their encoded bytes',
            keyStart,
          );
      }
      prevStart = keyStart;
      prevEnd = keyEnd;
      this.item(depth + 1);
    }
  }
}

/** Whether `b[from..to)` is all ASCII. @internal */
export function isAscii(b: Uint8Array, from: number, to: number): boolean {
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
