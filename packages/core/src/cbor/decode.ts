import { Decoder, type Options } from 'cbor-x';
import { PlumblineError } from '../errors.js';
import { encodeCanonical } from './encode.js';
import { resolveCborLimits, type CborLimits } from './limits.js';
import { scanCbor } from './scan.js';
import type { CborValue } from './value.js';

// int64AsNumber is a cbor-x option its type declarations leave out.
const decoderOptions: Options & { int64AsNumber: boolean } = {
  useRecords: false,
  mapsAsObjects: false,
  int64AsNumber: true,
  structuredClone: false,
};
const decoder = new Decoder(decoderOptions);
// The fast path: maps decode straight to plain objects. Used only when no key is "__proto__"
// (cbor-x assigns properties, which would set the prototype for that key).
const objectDecoder = new Decoder({ ...decoderOptions, mapsAsObjects: true });

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

function toPlain(value: unknown): CborValue {
  if (value instanceof Map) {
    const out: Record<string, CborValue> = {};
    for (const [key, v] of value as Map<string, unknown>) {
      // defineProperty: a "__proto__" key stays a plain own property.
      Object.defineProperty(out, key, {
        value: toPlain(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, CborValue> = {};
    for (const [key, v] of Object.entries(value)) out[key] = toPlain(v);
    return out;
  }
  if (value instanceof Uint8Array) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  }
  return value as CborValue;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Strictly decodes deterministic CBOR: a structural pre-scan enforces the limits and refuses
 * anything non-canonical before cbor-x builds the value, and the value is re-encoded and compared
 * with the input as a final check.
 *
 * @example
 * ```ts
 * decodeCanonical(new Uint8Array([0xa1, 0x61, 0x61, 0x01])); // { a: 1 }
 * ```
 * @throws {@link PlumblineError} see {@link scanCbor}; `PLB_CBOR_NONCANONICAL` when re-encoding differs.
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
  let value: CborValue;
  try {
    // A fresh view: cbor-x attaches a property to the array it decodes.
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (scan.protoKey) value = toPlain(decoder.decode(view));
    else {
      const decoded = objectDecoder.decode(view) as CborValue;
      value = options.allowBytes === true ? toPlain(decoded) : decoded;
    }
  } catch (cause) {
    throw new PlumblineError('PLB_CBOR_MALFORMED', 'CBOR could not be decoded', { cause });
  }
  if (!sameBytes(encodeCanonical(value), bytes)) {
    throw new PlumblineError('PLB_CBOR_NONCANONICAL', 'CBOR is not in deterministic encoding', {
      details: { offset: options.baseOffset ?? 0 },
    });
  }
  return value;
}
