import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBase64, encodeBase64 } from '../../src/encoding/base64.js';
import { PlumblineError } from '../../src/errors.js';

describe('base64', () => {
  it('matches Buffer for every byte string, on both paths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const expected = Buffer.from(bytes).toString('base64');
        expect(encodeBase64(bytes)).toBe(expected);
        expect(encodeBase64(bytes, { portable: true })).toBe(expected);
        expect(decodeBase64(expected)).toEqual(bytes);
        expect(decodeBase64(expected.replace(/=+$/, ''))).toEqual(bytes);
        expect(decodeBase64(Buffer.from(bytes).toString('base64url'))).toEqual(bytes);
        expect(decodeBase64(expected, { portable: true })).toEqual(bytes);
        expect(decodeBase64(Buffer.from(bytes).toString('base64url'), { portable: true })).toEqual(
          bytes,
        );
      }),
    );
  });

  it('encodes a view of a larger buffer, not the whole buffer', () => {
    const big = new Uint8Array([1, 2, 3, 4, 5]);
    expect(encodeBase64(big.subarray(1, 3))).toBe(Buffer.from([2, 3]).toString('base64'));
  });

  it.each([
    ['a', 'impossible length'],
    ['ab=', 'padding'],
    ['a===', 'outside the alphabet'],
    ['ab!c', 'outside the alphabet'],
    ['abcé', 'outside the alphabet'],
    ['aGl=', 'trailing bits'],
  ])('refuses %j (%s)', (text, message) => {
    expect(() => decodeBase64(text)).toThrow(message);
    expect(() => decodeBase64(text, { portable: true })).toThrow(message);
    try {
      decodeBase64(text);
    } catch (error) {
      expect(PlumblineError.is(error, 'PLB_INVALID_BASE64')).toBe(true);
    }
  });

  it('checks maxBytes before allocating', () => {
    expect(() => decodeBase64('A'.repeat(4000), { maxBytes: 100 })).toThrow(/more than 100 bytes/);
    expect(decodeBase64('AAAA', { maxBytes: 3 })).toEqual(new Uint8Array(3));
  });

  it('never throws anything but a PlumblineError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          const fast = decodeBase64(text);
          // Both paths agree on every accepted text.
          expect(decodeBase64(text, { portable: true })).toEqual(fast);
        } catch (error) {
          expect(PlumblineError.is(error, 'PLB_INVALID_BASE64')).toBe(true);
          expect(() => decodeBase64(text, { portable: true })).toThrow();
        }
      }),
    );
  });
});
