import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPairSync, sign } from 'node:crypto';
import { derToP1363, p1363ToDer } from '../../src/signer/ecdsa-der.js';

describe('ECDSA signature encodings', () => {
  it('round-trips every r||s value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
        expect(derToP1363(p1363ToDer(raw), 32)).toEqual(raw);
      }),
    );
  });

  it('agrees with node:crypto for real signatures', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 20; i++) {
      const data = new Uint8Array([i]);
      const der = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
      const raw = derToP1363(der, 32)!;
      expect(raw).toBeDefined();
      expect(Buffer.from(p1363ToDer(raw))).toEqual(der);
    }
  });

  it('refuses malformed DER', () => {
    const good = p1363ToDer(new Uint8Array(64).fill(0x11));
    expect(derToP1363(new Uint8Array([0x30, 0x02, 0x02, 0x00]), 32)).toBeUndefined();
    expect(derToP1363(good.subarray(0, good.length - 1), 32)).toBeUndefined();
    const wrongTag = good.slice();
    wrongTag[0] = 0x31;
    expect(derToP1363(wrongTag, 32)).toBeUndefined();
    const trailing = new Uint8Array([...good, 0]);
    expect(derToP1363(trailing, 32)).toBeUndefined();
    // Non-minimal integer (leading zero before a byte without the high bit).
    const nonMinimal = new Uint8Array([0x30, 0x08, 0x02, 0x02, 0x00, 0x01, 0x02, 0x02, 0x00, 0x01]);
    expect(derToP1363(nonMinimal, 32)).toBeUndefined();
    // Negative integer.
    const negative = new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]);
    expect(derToP1363(negative, 32)).toBeUndefined();
    // Integer longer than the curve size.
    const long = new Uint8Array([
      0x30,
      0x27,
      0x02,
      0x22,
      ...new Uint8Array(34).fill(1),
      0x02,
      0x01,
      0x01,
    ]);
    expect(derToP1363(long, 32)).toBeUndefined();
    // Second element is not an integer.
    expect(
      derToP1363(new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x01]), 32),
    ).toBeUndefined();
    // Long-form length.
    expect(
      derToP1363(new Uint8Array([0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]), 32),
    ).toBeUndefined();
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const out = derToP1363(bytes, 32);
        if (out) expect(out.length).toBe(64);
      }),
    );
  });
});
