import { Encoder, type Options } from 'cbor-x';
import { PlumblineError } from '../errors.js';
import { compareUtf8, isWellFormed } from '../encoding/utf8.js';
import type { CborValue } from './value.js';

// useTag259ForMaps is a cbor-x option its type declarations leave out.
const encoderOptions: Options & { useTag259ForMaps: boolean } = {
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
  pack: false,
  useTag259ForMaps: false,
  structuredClone: false,
};
const encoder = new Encoder(encoderOptions);
const MAX_U32 = 0xffff_ffff;

/**
 * Length of a string in UTF-8 bytes, without encoding it.
 *
 * @internal
 */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function compareKeys(a: string, b: string): number {
  // Deterministic CBOR orders keys by their encoded bytes: the head carries the UTF-8 length, so
  // a shorter key always sorts first, and equal lengths compare bytewise (code point order).
  const d = utf8Length(a) - utf8Length(b);
  return d !== 0 ? d : compareUtf8(a, b);
}

/**
 * Sorts map keys by their deterministic encoding (bytewise lexicographic order of the encoded keys).
 *
 * @internal
 */
export function sortKeysCanonical(keys: readonly string[]): string[] {
  return keys.length < 2 ? [...keys] : [...keys].sort(compareKeys);
}

const INTEGER_LIKE = /^\d+$/;

function fail(message: string, path: string): never {
  throw new PlumblineError('PLB_CBOR_UNSUPPORTED', `${message} at ${path || '(root)'}`, {
    details: { path: path || '(root)' },
  });
}

// Turns a value into what cbor-x encodes deterministically: Maps with sorted keys, integers beyond
// 32 bits as BigInt (cbor-x would otherwise write them as float64), and nothing it cannot carry.
function normalize(value: unknown, path: string, depth: number): unknown {
  if (depth > 512) fail('nesting too deep to encode', path);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    if (typeof value === 'string' && !isWellFormed(value))
      fail('a string with a lone surrogate', path);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      fail('a number that is not a safe integer (CBOR floats are not allowed)', path);
    if (Object.is(value, -0)) return 0;
    return value > MAX_U32 || value < -MAX_U32 - 1 ? BigInt(value) : value;
  }
  if (value instanceof Uint8Array) {
    // A plain Uint8Array view (cbor-x treats Buffer and Uint8Array alike without tags).
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => normalize(v, `${path}[${i}]`, depth + 1));
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null)
      fail('an object that is not a plain object', path);
    const record = value as Record<string, unknown>;
    const keys = sortKeysCanonical(Object.keys(record));
    // A plain object keeps insertion order (and cbor-x encodes it fastest), except that
    // integer-like keys always come first: those objects become Maps.
    if (keys.some((k) => INTEGER_LIKE.test(k))) {
      const map = new Map<string, unknown>();
      for (const key of keys) {
        const v = record[key];
        if (v !== undefined) map.set(key, normalize(v, `${path}.${key}`, depth + 1));
      }
      return map;
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const v = record[key];
      if (v === undefined) continue; // absent, as in JSON
      const normalized = normalize(v, `${path}.${key}`, depth + 1);
      if (key === '__proto__') {
        Object.defineProperty(out, key, {
          value: normalized,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else out[key] = normalized;
    }
    return out;
  }
  return fail(`a value of type ${typeof value}`, path);
}

/**
 * Encodes a value as deterministic CBOR (RFC 8949 §4.2.1): map keys sorted by their encoded
 * bytes, shortest heads, definite lengths, no floats, no tags. Object properties whose value is
 * `undefined` are left out.
 *
 * @example
 * ```ts
 * encodeCanonical({ b: 1, a: [true, null] }); // a2 61 61 82 f5 f6 61 62 01
 * ```
 * @throws {@link PlumblineError} `PLB_CBOR_UNSUPPORTED` for floats, unsafe integers, `undefined`
 *   in arrays, lone surrogates, functions, symbols, bigints and class instances.
 * @internal
 */
export function encodeCanonical(value: CborValue | Readonly<Record<string, unknown>>): Uint8Array {
  const normalized = normalize(value, '', 0);
  const out = encoder.encode(normalized) as Uint8Array;
  // A copy: cbor-x returns a view into its reusable buffer (with extra properties attached).
  const copy = new Uint8Array(out.byteLength);
  copy.set(out);
  return copy;
}
