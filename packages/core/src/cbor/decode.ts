import { PlumblineError } from '../errors.js';
import { resolveCborLimits, type CborLimits } from './limits.js';
import { isAscii, scanCbor } from './scan.js';
import type { CborValue } from './value.js';

/**
 * Options of {@link decodeCanonical}.
 *
 * @internal
 */
export interface DecodeCanonicalOptions extends CborLimits {
  /** Whether byte strings are allowed (attachments) or refused (headers). Default false. */
  readonly allowBytes?: boolean;
  /** Where the document starts in a larger input, for error offsets. Default 0. */
  readonly baseOffset?: number;
}

// The scan has already checked everything (validity, canonical form, limits): this decoder only
// builds, so it can trust every head, length and UTF-8 sequence it meets.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const TWO_32 = 0x1_0000_0000;
/**
 * Map keys and short values repeat (every manifest entry has the same few keys, roles and media
 * types): one string per distinct short text, so a large header holds each once.
 */
const KEY_CACHE_LIMIT = 4096;
/** Texts up to this many bytes are shared through the cache. */
const SHARED_TEXT_MAX = 24;

class Builder {
  pos = 0;
  private readonly keys = new Map<string, string>();

  constructor(private readonly bytes: Uint8Array) {}

  private argument(ai: number): number {
    const b = this.bytes;
    if (ai < 24) return ai;
    let p = this.pos;
    let v: number;
    if (ai === 24) v = b[p++]!;
    else if (ai === 25) {
      v = (b[p]! << 8) | b[p + 1]!;
      p += 2;
    } else if (ai === 26) {
      v = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      p += 4;
    } else {
      const hi = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      const lo = b[p + 4]! * 0x100_0000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
      v = hi * TWO_32 + lo;
      p += 8;
    }
    this.pos = p;
    return v;
  }

  private text(length: number): string {
    const b = this.bytes;
    const start = this.pos;
    this.pos += length;
    if (length <= 24 && isAscii(b, start, start + length)) {
      // Short ASCII (keys, roles, media types): one string, no decoder call.
      return String.fromCharCode.apply(
        null,
        b.subarray(start, start + length) as unknown as number[],
      );
    }
    return utf8.decode(b.subarray(start, start + length));
  }

  private key(): string {
    return this.shared(this.argument(this.bytes[this.pos++]! & 0x1f));
  }

  private shared(length: number): string {
    const text = this.text(length);
    const known = this.keys.get(text);
    if (known !== undefined) return known;
    if (this.keys.size < KEY_CACHE_LIMIT) this.keys.set(text, text);
    return text;
  }

  item(): CborValue {
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (major === 7) return ai === 20 ? false : ai === 21 ? true : null;
    const arg = this.argument(ai);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return -1 - arg;
      case 2: {
        const out = this.bytes.slice(this.pos, this.pos + arg);
        this.pos += arg;
        return out;
      }
      case 3:
        return arg <= SHARED_TEXT_MAX ? this.shared(arg) : this.text(arg);
      case 4: {
        const out: CborValue[] = new Array<CborValue>(arg);
        for (let i = 0; i < arg; i++) out[i] = this.item();
        return out;
      }
      default: {
        const out: Record<string, CborValue> = {};
        for (let i = 0; i < arg; i++) {
          const key = this.key();
          const value = this.item();
          if (key === '__proto__') {
            // defineProperty: a "__proto__" key stays a plain own property.
            Object.defineProperty(out, key, {
              value,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else out[key] = value;
        }
        return out;
      }
    }
  }
}

/**
 * Strictly decodes deterministic CBOR in two passes: a structural scan enforces the limits,
 * refuses anything non-canonical and estimates the memory of the decoded value, all before
 * anything is allocated; then the value is built. Pure JavaScript on Web APIs (no native add-on,
 * no environment access, no `eval`).
 *
 * @example
 * ```ts
 * decodeCanonical(new Uint8Array([0xa1, 0x61, 0x61, 0x01])); // { a: 1 }
 * ```
 * @throws {@link PlumblineError} see {@link scanCbor}; `PLB_LIMIT_MEMORY` when the decoded value
 *   would take more than `maxExpansion` times the document's size (plus 64 KiB);
 *   `PLB_INVALID_OPTION` for a limit out of range.
 * @internal
 */
export function decodeCanonical(
  bytes: Uint8Array,
  options: DecodeCanonicalOptions = {},
): CborValue {
  const limits = resolveCborLimits(options);
  let scan;
  try {
    scan = scanCbor(bytes, limits, {
      allowBytes: options.allowBytes ?? false,
      ...(options.baseOffset === undefined ? {} : { baseOffset: options.baseOffset }),
    });
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    // Only a stack overflow (a maxDepth set far beyond the default) gets here.
    throw new PlumblineError('PLB_LIMIT_DEPTH', 'CBOR nesting too deep for this runtime', {
      cause: error,
    });
  }
  const budget = limits.maxExpansion * bytes.length + EXPANSION_SLACK;
  if (scan.decodedBytes > budget) {
    throw new PlumblineError(
      'PLB_LIMIT_MEMORY',
      `decoding this ${bytes.length}-byte CBOR document would take about ${scan.decodedBytes} bytes of memory, more than ${limits.maxExpansion} times its size`,
      {
        details: {
          size: bytes.length,
          estimate: scan.decodedBytes,
          limit: budget,
          offset: options.baseOffset ?? 0,
        },
      },
    );
  }
  return new Builder(bytes).item();
}

/** Memory any document may take beyond `maxExpansion` times its size. @internal */
export const EXPANSION_SLACK = 64 * 1024;
