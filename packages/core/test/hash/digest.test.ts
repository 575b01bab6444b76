import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  bytesEqual,
  compareUtf8,
  concatBytes,
  decodeUtf8,
  formatDigest,
  fromHex,
  isDigestString,
  isWellFormed,
  parseDigest,
  toHex,
  utf8,
} from '@plumbline/core/hash';

describe('digest strings', () => {
  it('round-trips any 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const text = formatDigest(bytes);
        expect(isDigestString(text)).toBe(true);
        expect(bytesEqual(parseDigest(text), bytes)).toBe(true);
      }),
    );
  });
  it.each([
    'sha256:' + 'A'.repeat(64),
    'sha256:' + 'a'.repeat(63),
    'sha512:' + 'a'.repeat(64),
    'a'.repeat(64),
    '',
    'sha256:' + 'g'.repeat(64),
    'x'.repeat(200),
  ])('refuses %j', (text) => {
    expect(isDigestString(text)).toBe(false);
    expect(() => parseDigest(text)).toThrow(
      expect.objectContaining({ code: 'PLB_INVALID_DIGEST' }),
    );
  });
  it('refuses non-strings and wrong lengths', () => {
    expect(isDigestString(42)).toBe(false);
    expect(() => formatDigest(new Uint8Array(31))).toThrow(PlumblineError);
  });
});

describe('hex', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
      }),
    );
  });
  it('refuses odd length and foreign characters', () => {
    expect(() => fromHex('abc')).toThrow(expect.objectContaining({ code: 'PLB_INVALID_HEX' }));
    expect(() => fromHex('AB')).toThrow(expect.objectContaining({ code: 'PLB_INVALID_HEX' }));
    expect(() => fromHex('0g')).toThrow(expect.objectContaining({ code: 'PLB_INVALID_HEX' }));
  });
  it('compares and concatenates', () => {
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(
      new Uint8Array([1, 2, 3]),
    );
  });
});

describe('utf8', () => {
  it('orders strings by their UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(utf8(a)), Buffer.from(utf8(b)));
        expect(Math.sign(compareUtf8(a, b))).toBe(bytes);
      }),
      { numRuns: 500 },
    );
    // U+FF5E sorts before U+1F600 by bytes although its UTF-16 code unit is larger.
    expect(compareUtf8('\uff5e', '\u{1f600}')).toBe(-1);
    expect('\uff5e' < '\u{1f600}').toBe(false);
  });
  it('decodes strictly', () => {
    expect(decodeUtf8(utf8('héllo'))).toBe('héllo');
    expect(() => decodeUtf8(new Uint8Array([0xc3]))).toThrow(
      expect.objectContaining({ code: 'PLB_INVALID_UTF8' }),
    );
  });
  it('detects lone surrogates', () => {
    expect(isWellFormed('a\u{1f600}b')).toBe(true);
    expect(isWellFormed('a\ud800b')).toBe(false);
    expect(isWellFormed('a\udc00')).toBe(false);
    expect(isWellFormed('\ud800')).toBe(false);
  });
});
