import { PlumblineError } from '../errors.js';
import { compareUtf8, isWellFormed, utf8Length } from '../encoding/utf8.js';
import type { CborValue } from './value.js';

const MAX_DEPTH = 512;
const textEncoder = new TextEncoder();

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

function fail(message: string, path: string): never {
  throw new PlumblineError('PLB_CBOR_UNSUPPORTED', `${message} at ${path || '(root)'}`, {
    details: { path: path || '(root)' },
  });
}

/** A growable byte buffer that writes deterministic CBOR heads and items. */
class Writer {
  buf = new Uint8Array(256);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** The shortest head of a major type with an argument up to 2^53 - 1. */
  head(major: number, arg: number): void {
    this.reserve(9);
    const b = this.buf;
    const m = major << 5;
    if (arg < 24) b[this.pos++] = m | arg;
    else if (arg < 0x100) {
      b[this.pos++] = m | 24;
      b[this.pos++] = arg;
    } else if (arg < 0x1_0000) {
      b[this.pos++] = m | 25;
      b[this.pos++] = arg >>> 8;
      b[this.pos++] = arg & 0xff;
    } else if (arg < 0x1_0000_0000) {
      b[this.pos++] = m | 26;
      this.u32(arg);
    } else {
      b[this.pos++] = m | 27;
      this.u32(Math.floor(arg / 0x1_0000_0000));
      this.u32(arg >>> 0);
    }
  }

  private u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = (v >>> 24) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
  }

  text(value: string): void {
    const length = utf8Length(value);
    this.head(3, length);
    this.reserve(length);
    if (length === value.length) {
      // ASCII: one byte per code unit.
      for (let i = 0; i < length; i++) this.buf[this.pos + i] = value.charCodeAt(i);
    } else textEncoder.encodeInto(value, this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
  }

  bytes(value: Uint8Array): void {
    this.head(2, value.length);
    this.reserve(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  item(value: unknown, path: string, depth: number): void {
    if (depth > MAX_DEPTH) fail('nesting too deep to encode', path);
    if (value === null) this.simple(0xf6);
    else if (value === false) this.simple(0xf4);
    else if (value === true) this.simple(0xf5);
    else if (typeof value === 'string') {
      if (!isWellFormed(value)) fail('a string with a lone surrogate', path);
      this.text(value);
    } else if (typeof value === 'number') {
      if (!Number.isSafeInteger(value))
        fail('a number that is not a safe integer (CBOR floats are not allowed)', path);
      if (value >= 0) this.head(0, value);
      else this.head(1, -1 - value);
    } else if (value instanceof Uint8Array) this.bytes(value);
    else if (Array.isArray(value)) {
      this.head(4, value.length);
      for (let i = 0; i < value.length; i++) this.item(value[i], `${path}[${i}]`, depth + 1);
    } else if (typeof value === 'object') this.map(value, path, depth);
    else fail(`a value of type ${typeof value}`, path);
  }

  private simple(byte: number): void {
    this.reserve(1);
    this.buf[this.pos++] = byte;
  }

  private map(value: object, path: string, depth: number): void {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null)
      fail('an object that is not a plain object', path);
    const record = value as Record<string, unknown>;
    // Properties whose value is undefined are absent, as in JSON.
    const keys = sortKeysCanonical(Object.keys(record).filter((k) => record[k] !== undefined));
    this.head(5, keys.length);
    for (const key of keys) {
      if (!isWellFormed(key)) fail('a key with a lone surrogate', path);
      this.text(key);
      this.item(record[key], `${path}.${key}`, depth + 1);
    }
  }
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
  const writer = new Writer();
  writer.item(value, '', 0);
  return writer.buf.slice(0, writer.pos);
}
